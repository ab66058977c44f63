package io.cqrs.write.command;

/** An Idempotency-Key seen before with a different request: the first request's result stands, this one is refused. */
final class IdempotencyKeyReused extends RuntimeException {

    IdempotencyKeyReused(String idempotencyKey) {
        super("Idempotency-Key '" + idempotencyKey + "' was already used for a different request");
    }
}
