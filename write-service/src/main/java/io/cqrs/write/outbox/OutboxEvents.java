package io.cqrs.write.outbox;

import io.cqrs.events.RecordDeleted;
import io.cqrs.events.RecordEvent;
import io.cqrs.events.RecordWritten;
import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The event a committed command puts on the stream, built here alone: from a request's command right after its group
 * committed, and from the command's row when the sweeper publishes it later.
 */
public final class OutboxEvents {

    private OutboxEvents() {}

    /**
     * @param deleted whether the command deleted the key; a write carries its value, a delete none
     * @param createdAt the write transaction's timestamp
     */
    public static RecordEvent of(
            long commandId,
            String key,
            boolean deleted,
            @Nullable String value,
            long version,
            long writeCount,
            Instant createdAt) {
        return deleted
                ? new RecordDeleted(commandId, key, version, writeCount, createdAt)
                : new RecordWritten(
                        commandId, key, Objects.requireNonNull(value, "value"), version, writeCount, createdAt);
    }
}
