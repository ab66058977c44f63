package io.cqrs.read.query;

import java.net.URI;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;

/**
 * A read asked to wait for a version while {@code cqrs.read.wait.max-waiters} reads wait already: 503 with
 * {@code Retry-After}, at once. Waiting reads hold a connection each, so without a cap a burst of them (a stalled
 * projection, a client retrying in a loop) would take every connection from the plain reads.
 */
final class TooManyWaiters extends ErrorResponseException {

    TooManyWaiters(long retryAfterSeconds) {
        super(HttpStatus.SERVICE_UNAVAILABLE, problem(), null);
        getHeaders().set(HttpHeaders.RETRY_AFTER, String.valueOf(retryAfterSeconds));
    }

    private static ProblemDetail problem() {
        var problem = ProblemDetail.forStatusAndDetail(
                HttpStatus.SERVICE_UNAVAILABLE, "Too many reads are waiting for versions; retry later");
        problem.setType(URI.create("urn:cqrs:problem:too-many-waiters"));
        problem.setTitle("Too many waiting reads");
        problem.setProperty("success", false);
        return problem;
    }

    /** An answer, not a failure: a stack trace would only cost time. */
    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
