package io.cqrs.read.query;

import java.net.URI;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;

/**
 * A key longer than any the write side accepts: it cannot exist, so it is refused before the cache or the database
 * is asked (a flood of such reads used to fill the near cache with absent keys). The detail does not repeat it.
 */
final class KeyTooLong extends ErrorResponseException {

    /** The write side's limit, in characters (code points): no longer key can have been written. */
    static final int MAX_CODE_POINTS = 255;

    KeyTooLong(int codePoints) {
        super(HttpStatus.BAD_REQUEST, problem(codePoints), null);
    }

    static void check(String key) {
        if (key.length() > MAX_CODE_POINTS && key.codePointCount(0, key.length()) > MAX_CODE_POINTS) {
            throw new KeyTooLong(key.codePointCount(0, key.length()));
        }
    }

    private static ProblemDetail problem(int codePoints) {
        var problem = ProblemDetail.forStatusAndDetail(
                HttpStatus.BAD_REQUEST,
                "A key has at most " + MAX_CODE_POINTS + " characters; this one has " + codePoints);
        problem.setType(URI.create("urn:cqrs:problem:invalid-key"));
        problem.setTitle("Invalid key");
        problem.setProperty("success", false);
        return problem;
    }

    /** An answer, not a failure. */
    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
