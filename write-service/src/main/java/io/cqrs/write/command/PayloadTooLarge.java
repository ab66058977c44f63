package io.cqrs.write.command;

import java.io.IOException;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponse;

/**
 * A request body over the configured limit, a 413; thrown while reading it, so nothing of it is parsed or written. An
 * {@link IOException}, as it travels out of the body's input stream.
 */
final class PayloadTooLarge extends IOException implements ErrorResponse {

    private final ProblemDetail problem;

    PayloadTooLarge(long limit) {
        super("The request body is larger than " + limit + " bytes; nothing was written. Send smaller batches.");
        this.problem = ApiErrors.problem(HttpStatus.CONTENT_TOO_LARGE, "payload-too-large", getMessage());
    }

    @Override
    public HttpStatusCode getStatusCode() {
        return HttpStatus.CONTENT_TOO_LARGE;
    }

    @Override
    public ProblemDetail getBody() {
        return problem;
    }

    static @Nullable PayloadTooLarge causes(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof PayloadTooLarge tooLarge) {
                return tooLarge;
            }
        }
        return null;
    }
}
