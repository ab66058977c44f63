package io.cqrs.write.command;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * What one request asked for, waiting to join a group commit: applied all together or not at all.
 *
 * @param claim the request's Idempotency-Key and fingerprint, or null without the header
 * @param traceparent the request's trace context, carried beside its events, or null when it is not traced
 */
record PendingUnit(
        List<Command> commands,
        @Nullable IdempotencyClaim claim,
        @Nullable String traceparent,
        CompletableFuture<Outcome> outcome) {

    PendingUnit(List<Command> commands, @Nullable IdempotencyClaim claim) {
        this(commands, claim, null);
    }

    PendingUnit(List<Command> commands, @Nullable IdempotencyClaim claim, @Nullable String traceparent) {
        this(List.copyOf(commands), claim, traceparent, new CompletableFuture<>());
    }

    record IdempotencyClaim(String key, String requestHash) {}

    /** What the unit holds in memory while it waits, roughly: its strings at two bytes per character. */
    long bytes() {
        long bytes = 0;
        for (Command command : commands) {
            bytes += 64
                    + 2L * command.key().length()
                    + (command.value() == null ? 0 : 2L * command.value().length());
        }
        return bytes;
    }

    /** How a unit ended; every unit of a group gets one. */
    sealed interface Outcome {

        /** The unit's commands, committed, in request order. */
        record Applied(List<StoredCommand> commands) implements Outcome {}

        /** A delete of a key with no live record; nothing was written. */
        record NothingToDelete(String key) implements Outcome {}

        /** Another request holds this Idempotency-Key; nothing was written, the first request's result stands. */
        record KeyTaken(String idempotencyKey) implements Outcome {}
    }
}
