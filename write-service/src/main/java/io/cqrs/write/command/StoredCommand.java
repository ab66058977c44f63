package io.cqrs.write.command;

import io.cqrs.events.RecordDeleted;
import io.cqrs.events.RecordEvent;
import io.cqrs.events.RecordWritten;
import java.time.Instant;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A command as committed to the write database, with the stream entry id of its event once published.
 *
 * @param eventId the id XADD returned, or null while the event waits in the outbox
 */
record StoredCommand(
        long id,
        Command command,
        long version,
        long writeCount,
        Instant createdAt,
        @Nullable String eventId) {

    RecordEvent event() {
        return switch (command.op()) {
            case WRITE ->
                new RecordWritten(
                        id, command.key(), Objects.requireNonNull(command.value()), version, writeCount, createdAt);
            case DELETE -> new RecordDeleted(id, command.key(), version, writeCount, createdAt);
        };
    }

    StoredCommand withEventId(@Nullable String streamId) {
        return new StoredCommand(id, command, version, writeCount, createdAt, streamId);
    }
}
