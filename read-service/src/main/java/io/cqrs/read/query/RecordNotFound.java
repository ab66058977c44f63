package io.cqrs.read.query;

import java.net.URI;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;

/**
 * No live record under this key: never written, deleted, or not projected yet. A 404 problem that also carries
 * {@code "success": false} and the key, as the prototype's clients expect.
 */
final class RecordNotFound extends ErrorResponseException {

    RecordNotFound(String key) {
        super(HttpStatus.NOT_FOUND, problem(key), null);
    }

    private static ProblemDetail problem(String key) {
        var problem = ProblemDetail.forStatusAndDetail(
                HttpStatus.NOT_FOUND, "Key '" + key + "' not found (it may not be projected yet)");
        problem.setType(URI.create("urn:cqrs:problem:record-not-found"));
        problem.setTitle("Record not found");
        problem.setProperty("success", false);
        problem.setProperty("key", key);
        return problem;
    }

    /** An answer, not a failure: a stack trace would only cost time on every 404. */
    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
