package io.cqrs.projector.deadletters;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpStatus;

/**
 * A refusal or failure of a dead-letter operation, answered as {@code application/problem+json} by
 * {@link DeadLetterProblems}: 400 naming the field at fault, 404 for an unknown path, 503 with {@code Retry-After} when
 * Redis or the read database cannot be reached. The detail is ours, never a dependency's message.
 */
final class DeadLetterProblem extends RuntimeException {

    private final HttpStatus status;
    private final String type;
    private final @Nullable Duration retryAfter;
    private final Map<String, Object> properties;

    private DeadLetterProblem(
            HttpStatus status,
            String type,
            String detail,
            @Nullable Duration retryAfter,
            Map<String, Object> properties,
            @Nullable Throwable cause) {
        super(detail, cause, false, false);
        this.status = status;
        this.type = type;
        this.retryAfter = retryAfter;
        this.properties = Map.copyOf(properties);
    }

    static DeadLetterProblem badRequest(String field, String detail) {
        return new DeadLetterProblem(
                HttpStatus.BAD_REQUEST, "urn:cqrs:problem:invalid-request", detail, null, Map.of("field", field), null);
    }

    static DeadLetterProblem notFound(String detail) {
        return new DeadLetterProblem(HttpStatus.NOT_FOUND, "about:blank", detail, null, Map.of(), null);
    }

    /** A dependency that did not answer; {@code done} says what the call had finished before (may be empty). */
    static DeadLetterProblem unavailable(String dependency, String detail, Map<String, Object> done, Throwable cause) {
        var properties = new LinkedHashMap<String, Object>(done);
        properties.put("dependency", dependency);
        return new DeadLetterProblem(
                HttpStatus.SERVICE_UNAVAILABLE,
                "urn:cqrs:problem:dependency-unavailable",
                detail,
                Duration.ofSeconds(5),
                properties,
                cause);
    }

    HttpStatus status() {
        return status;
    }

    String type() {
        return type;
    }

    @Nullable
    Duration retryAfter() {
        return retryAfter;
    }

    Map<String, Object> properties() {
        return properties;
    }
}
