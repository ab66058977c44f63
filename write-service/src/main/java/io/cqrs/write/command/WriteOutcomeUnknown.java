package io.cqrs.write.command;

import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.ErrorResponseException;

/**
 * The write may or may not have been applied: its commit was sent but no answer came back (the wait for its group
 * timed out, or the connection broke during the commit). A 503 with {@code Retry-After} that says so, never "nothing
 * was written": a retry with the same {@code Idempotency-Key} finds out, returning the first result if it was applied.
 */
final class WriteOutcomeUnknown extends ErrorResponseException {

    static final String TYPE = "outcome-unknown";

    WriteOutcomeUnknown(String reason, @Nullable Throwable cause) {
        super(HttpStatus.SERVICE_UNAVAILABLE, problem(reason), cause);
        getHeaders().set(HttpHeaders.RETRY_AFTER, ApiErrors.RETRY_AFTER_SECONDS);
    }

    private static org.springframework.http.ProblemDetail problem(String reason) {
        var problem = ApiErrors.problem(
                HttpStatus.SERVICE_UNAVAILABLE,
                TYPE,
                "The outcome of this write is unknown (" + reason + "): it may or may not have been applied; retry"
                        + " with the same Idempotency-Key to find out");
        problem.setProperty("outcome", "unknown");
        return problem;
    }
}
