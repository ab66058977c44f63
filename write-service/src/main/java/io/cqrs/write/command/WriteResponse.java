package io.cqrs.write.command;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.jspecify.annotations.Nullable;

/**
 * The answer to a write or a delete; field names (snake_case on the wire) are those of the prototype's clients.
 *
 * @param eventId the stream entry id, or null while the event waits in the outbox (it will be published)
 * @param deleted true for a delete, absent for a write
 */
record WriteResponse(
        boolean success,
        String key,
        long commandId,
        long version,
        long writeCount,
        @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable Boolean deleted,
        @Nullable String eventId,
        String message) {

    static WriteResponse of(StoredCommand command, String done) {
        boolean delete = command.command().op() == Command.Op.DELETE;
        return new WriteResponse(
                true,
                command.command().key(),
                command.id(),
                command.version(),
                command.writeCount(),
                delete ? Boolean.TRUE : null,
                command.eventId(),
                done + (command.eventId() == null ? "; event queued, it will be published" : "; event published"));
    }
}
