package io.cqrs.write.command;

import io.cqrs.events.RecordEvent;
import io.cqrs.write.outbox.OutboxEvents;
import java.time.Instant;
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
        return OutboxEvents.of(
                id, command.key(), command.op() == Command.Op.DELETE, command.value(), version, writeCount, createdAt);
    }

    StoredCommand withEventId(@Nullable String streamId) {
        return new StoredCommand(id, command, version, writeCount, createdAt, streamId);
    }
}
