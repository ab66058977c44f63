package io.cqrs.projector.rebuild;

import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.core.MethodParameter;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.converter.HttpMessageConverter;
import org.springframework.http.server.ServerHttpRequest;
import org.springframework.http.server.ServerHttpResponse;
import org.springframework.web.bind.annotation.ControllerAdvice;
import org.springframework.web.servlet.mvc.method.annotation.ResponseBodyAdvice;

/**
 * Gives the rebuild endpoint's 503 its {@code Retry-After} header, which an actuator operation cannot set itself (its
 * answer has a status, a body and a content type, no headers). Found by the management port's MVC too, which looks
 * for advice in the application's context as well as its own; it touches only the bodies that ask for it.
 */
@ControllerAdvice
class RetryAfterHeader implements ResponseBodyAdvice<Object> {

    @Override
    public boolean supports(MethodParameter returnType, Class<? extends HttpMessageConverter<?>> converterType) {
        return true;
    }

    @Override
    public @Nullable Object beforeBodyWrite(
            @Nullable Object body,
            MethodParameter returnType,
            MediaType contentType,
            Class<? extends HttpMessageConverter<?>> converterType,
            ServerHttpRequest request,
            ServerHttpResponse response) {
        if (body instanceof Map<?, ?> problem
                && (RebuildEndpoint.PROBLEM_TYPES + RebuildEndpoint.UNAVAILABLE).equals(problem.get("type"))
                && problem.get("retry_after_seconds") instanceof Integer seconds) {
            response.getHeaders().set(HttpHeaders.RETRY_AFTER, seconds.toString());
        }
        return body;
    }
}
