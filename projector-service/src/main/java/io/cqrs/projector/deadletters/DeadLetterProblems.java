package io.cqrs.projector.deadletters;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.HandlerExceptionResolver;
import org.springframework.web.servlet.ModelAndView;
import tools.jackson.databind.json.JsonMapper;

/**
 * Writes a {@link DeadLetterProblem} as {@code application/problem+json} (with {@code Retry-After} where it has one).
 * An actuator operation cannot set headers itself, and the management port's error page is not a problem; the
 * management context's dispatcher asks the resolvers of its parent context too, which is where this one lives. It
 * also answers a body that is not a JSON object of text on the dead-letter paths; it handles nothing else, so the API
 * port is unaffected.
 */
@Component
class DeadLetterProblems implements HandlerExceptionResolver, Ordered {

    static final String MEDIA_TYPE = "application/problem+json";

    // The dead-letter endpoint's paths, whatever the actuator's base path.
    private static final Pattern OURS = Pattern.compile(".*/deadletters(/[^/]*)?");

    private static final Logger log = LoggerFactory.getLogger(DeadLetterProblems.class);

    private final JsonMapper json;

    DeadLetterProblems(JsonMapper json) {
        this.json = json;
    }

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }

    @Override
    public @Nullable ModelAndView resolveException(
            HttpServletRequest request, HttpServletResponse response, @Nullable Object handler, Exception failure) {
        DeadLetterProblem problem;
        if (failure instanceof DeadLetterProblem ours) {
            problem = ours;
        } else if (failure instanceof HttpMessageNotReadableException
                && OURS.matcher(request.getRequestURI()).matches()) {
            // Spring's own answer says only "Failed to read request".
            problem = DeadLetterProblem.badRequest(
                    "body",
                    "The body must be a JSON object of text fields, such as {\"id\": \"1732800000000-0\"} or"
                            + " {\"all\": true}");
        } else {
            return null;
        }
        if (problem.getCause() != null) {
            log.warn(
                    "{} {}: {} ({})",
                    request.getMethod(),
                    request.getRequestURI(),
                    problem.getMessage(),
                    problem.getCause().toString());
        }
        var body = new LinkedHashMap<String, Object>();
        body.put("type", problem.type());
        body.put("title", problem.status().getReasonPhrase());
        body.put("status", problem.status().value());
        body.put("detail", problem.getMessage());
        body.put("instance", request.getRequestURI());
        body.putAll(problem.properties());
        body.put("success", false);
        try {
            byte[] bytes = json.writeValueAsBytes(body);
            response.setStatus(problem.status().value());
            response.setContentType(MEDIA_TYPE);
            if (problem.retryAfter() != null) {
                response.setHeader(
                        HttpHeaders.RETRY_AFTER,
                        Long.toString(problem.retryAfter().toSeconds()));
            }
            response.setContentLength(bytes.length);
            response.getOutputStream().write(bytes);
        } catch (IOException e) {
            log.debug("Cannot answer {} {}: {}", request.getMethod(), request.getRequestURI(), e.toString());
        }
        return new ModelAndView();
    }
}
