package io.cqrs.write.command;

import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.ErrorResponseException;

/**
 * The write database cannot take commands right now; nothing was written and the client should retry: a 503 with
 * {@code Retry-After}. One instance per request, as the response is built from it.
 */
final class WriteStoreUnavailable extends ErrorResponseException {

    WriteStoreUnavailable(String reason, @Nullable Throwable cause) {
        super(
                HttpStatus.SERVICE_UNAVAILABLE,
                ApiErrors.problem(
                        HttpStatus.SERVICE_UNAVAILABLE,
                        ApiErrors.UNAVAILABLE,
                        "Cannot accept writes right now (" + reason + "); nothing was written, retry later"),
                cause);
        getHeaders().set(HttpHeaders.RETRY_AFTER, ApiErrors.RETRY_AFTER_SECONDS);
    }

    WriteStoreUnavailable(String reason) {
        this(reason, null);
    }
}
