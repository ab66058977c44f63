package io.cqrs.apikeys;

import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.LinkedHashMap;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.security.access.AccessDeniedException;
import org.springframework.security.core.AuthenticationException;
import org.springframework.security.web.AuthenticationEntryPoint;
import org.springframework.security.web.access.AccessDeniedHandler;
import org.springframework.security.web.firewall.RequestRejectedException;
import org.springframework.security.web.firewall.RequestRejectedHandler;
import tools.jackson.databind.json.JsonMapper;

/**
 * The security layer's refusals in the API's problem shape ({@code urn:cqrs:problem:<type>}, {@code "success":
 * false}): 401 without a valid key (with {@code WWW-Authenticate: Bearer}), 403 when the key lacks the scope, 429 past
 * the key's rate limit (with {@code Retry-After}), 400 for a request the firewall refuses. Nothing about the secret or
 * the configured keys is ever in a body.
 */
final class ProblemAnswers implements AuthenticationEntryPoint, AccessDeniedHandler, RequestRejectedHandler {

    static final String REALM = "Bearer realm=\"cqrs\"";

    private final JsonMapper json;
    private final MeterRegistry meters;

    ProblemAnswers(JsonMapper json, MeterRegistry meters) {
        this.json = json;
        this.meters = meters;
    }

    /** No key, an unknown key, or an Authorization header that is not {@code Bearer <key>}. */
    @Override
    public void commence(HttpServletRequest request, HttpServletResponse response, AuthenticationException refusal)
            throws IOException {
        boolean presented = request.getHeader(HttpHeaders.AUTHORIZATION) != null;
        response.setHeader(HttpHeaders.WWW_AUTHENTICATE, presented ? REALM + ", error=\"invalid_token\"" : REALM);
        write(
                request,
                response,
                HttpStatus.UNAUTHORIZED,
                "unauthorized",
                presented
                        ? refusal.getMessage()
                        : "This endpoint needs an API key: send 'Authorization: Bearer <key>'");
    }

    /** A valid key without the scope the endpoint needs. */
    @Override
    public void handle(HttpServletRequest request, HttpServletResponse response, AccessDeniedException refusal)
            throws IOException {
        String key = request.getUserPrincipal() == null
                ? "this key"
                : "the API key '" + request.getUserPrincipal().getName() + "'";
        write(
                request,
                response,
                HttpStatus.FORBIDDEN,
                "forbidden",
                key + " lacks the scope " + request.getMethod() + " " + request.getRequestURI() + " needs");
    }

    @Override
    public void handle(HttpServletRequest request, HttpServletResponse response, RequestRejectedException refusal)
            throws IOException {
        write(request, response, HttpStatus.BAD_REQUEST, "invalid-request", refusal.getMessage());
    }

    void rateLimited(HttpServletRequest request, HttpServletResponse response, String key, long retryAfterSeconds)
            throws IOException {
        response.setHeader(HttpHeaders.RETRY_AFTER, Long.toString(retryAfterSeconds));
        write(
                request,
                response,
                HttpStatus.TOO_MANY_REQUESTS,
                "rate-limited",
                "The API key '" + key + "' made more requests than its rate limit allows; retry after "
                        + retryAfterSeconds + " s");
    }

    private void write(
            HttpServletRequest request, HttpServletResponse response, HttpStatus status, String type, String detail)
            throws IOException {
        var body = new LinkedHashMap<String, Object>();
        body.put("type", "urn:cqrs:problem:" + type);
        body.put("title", status.getReasonPhrase());
        body.put("status", status.value());
        body.put("detail", detail);
        body.put("instance", request.getRequestURI());
        body.put("success", false);
        // Counted by key name (none when the caller had no valid key): few values, as only configured names exist.
        String key = KeyNameInLogs.keyName(request);
        meters.counter(
                        "cqrs.api.refusals",
                        "status",
                        Integer.toString(status.value()),
                        "api_key",
                        key == null ? KeyTaggedRequests.NONE : key)
                .increment();
        byte[] bytes = json.writeValueAsBytes(body);
        response.setStatus(status.value());
        response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        response.setContentLength(bytes.length);
        response.getOutputStream().write(bytes);
    }
}
