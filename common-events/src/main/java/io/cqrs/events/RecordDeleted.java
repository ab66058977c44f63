package io.cqrs.events;

import static io.cqrs.events.EventChecks.requireCommandId;
import static io.cqrs.events.EventChecks.requireKey;
import static io.cqrs.events.EventChecks.requireVersion;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** A record's key was deleted; readers keep a tombstone at this version so older writes cannot resurrect it. */
public record RecordDeleted(long commandId, String key, long version, long writeCount, Instant occurredAt)
        implements RecordEvent {

    public RecordDeleted {
        requireCommandId(commandId);
        requireKey(key);
        requireVersion(version);
        // The delete itself takes a version, so at most version - 1 of the earlier commands were writes.
        if (writeCount < 0 || writeCount >= version) {
            throw new IllegalArgumentException("write_count must be between 0 and the version minus one ("
                    + (version - 1) + "), was " + writeCount);
        }
        occurredAt = occurredAt.truncatedTo(ChronoUnit.MICROS);
    }
}
