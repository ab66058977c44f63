package io.cqrs.apikeys;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.security.web.firewall.FirewalledRequest;
import org.springframework.security.web.firewall.HttpFirewall;
import org.springframework.security.web.firewall.StrictHttpFirewall;

/**
 * Spring Security's strict firewall, except for a key that is a dot segment. The keys {@code .} and {@code ..} can be
 * written, so they must be readable and deletable ({@code GET /read/..}, {@code DELETE /write/.}), but most clients
 * send them unencoded and the strict firewall refuses any path that is not normalised, with no setting to turn that
 * off. So a last path segment that is exactly {@code .} or {@code ..} is rewritten to its encoded form, {@code %2E} or
 * {@code %2E%2E}, before the firewall sees the request: the controllers decode it to the same key, and every rule
 * matches the same path either way. Dot segments anywhere else (a traversal such as {@code /health/../write/k}) still
 * meet the strict check.
 */
final class DotSegmentKeys implements HttpFirewall {

    private final StrictHttpFirewall strict;

    DotSegmentKeys(StrictHttpFirewall strict) {
        this.strict = strict;
    }

    @Override
    public FirewalledRequest getFirewalledRequest(HttpServletRequest request) {
        String uri = request.getRequestURI();
        int slash = uri.lastIndexOf('/');
        String last = uri.substring(slash + 1);
        if (slash <= 0 || !(last.equals(".") || last.equals(".."))) {
            return strict.getFirewalledRequest(request);
        }
        String encoded = uri.substring(0, slash + 1) + (last.equals(".") ? "%2E" : "%2E%2E");
        return strict.getFirewalledRequest(new HttpServletRequestWrapper(request) {
            @Override
            public String getRequestURI() {
                return encoded;
            }

            @Override
            public StringBuffer getRequestURL() {
                var url = super.getRequestURL();
                return new StringBuffer(url.substring(0, url.length() - uri.length()) + encoded);
            }
        });
    }

    @Override
    public HttpServletResponse getFirewalledResponse(HttpServletResponse response) {
        return strict.getFirewalledResponse(response);
    }
}
