package io.cqrs.write.command;

import org.springframework.http.HttpStatus;
import org.springframework.web.ErrorResponseException;

/**
 * An Idempotency-Key seen before with a different request: the first request's result stands, this one is refused
 * with a 422.
 */
final class IdempotencyKeyReused extends ErrorResponseException {

    IdempotencyKeyReused(String idempotencyKey) {
        super(
                HttpStatus.UNPROCESSABLE_CONTENT,
                ApiErrors.problem(
                        HttpStatus.UNPROCESSABLE_CONTENT,
                        "idempotency-key-reused",
                        "Idempotency-Key '" + idempotencyKey + "' was already used for a different request"),
                null);
    }
}
