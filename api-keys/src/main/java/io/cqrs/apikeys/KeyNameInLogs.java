package io.cqrs.apikeys;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import org.jspecify.annotations.Nullable;
import org.slf4j.MDC;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Once a request's key is known, its name — never the secret — goes into the logs' MDC as {@code api_key} for
 * everything logged while the request runs, and into a request attribute, from which {@link KeyTaggedRequests} tags
 * the request's metrics after the security context is gone.
 */
final class KeyNameInLogs extends OncePerRequestFilter {

    static final String MDC_KEY = "api_key";
    private static final String ATTRIBUTE = KeyNameInLogs.class.getName() + ".name";

    /** The name of the key that made this request, or null when it had none. */
    static @Nullable String keyName(HttpServletRequest request) {
        return request.getAttribute(ATTRIBUTE) instanceof String name ? name : null;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        var authentication = SecurityContextHolder.getContext().getAuthentication();
        if (!(authentication instanceof ApiKeyAuthentication caller) || !caller.isAuthenticated()) {
            chain.doFilter(request, response);
            return;
        }
        try (var ignored = name(request, caller.getName())) {
            chain.doFilter(request, response);
        }
    }

    /** Names the request's key, in its attribute and in the MDC until the returned handle is closed. */
    static MDC.MDCCloseable name(HttpServletRequest request, String keyName) {
        request.setAttribute(ATTRIBUTE, keyName);
        return MDC.putCloseable(MDC_KEY, keyName);
    }
}
