package io.cqrs.events;

import static io.cqrs.events.EventChecks.requireCommandId;
import static io.cqrs.events.EventChecks.requireKey;
import static io.cqrs.events.EventChecks.requireVersion;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;

/** A record's key was given a new value. */
public record RecordWritten(long commandId, String key, String value, long version, long writeCount, Instant occurredAt)
        implements RecordEvent {

    public RecordWritten {
        requireCommandId(commandId);
        requireKey(key);
        Objects.requireNonNull(value, "value");
        requireVersion(version);
        if (writeCount < 1 || writeCount > version) {
            throw new IllegalArgumentException(
                    "write_count must be between 1 and the version (" + version + "), was " + writeCount);
        }
        // The stream carries microseconds, as PostgreSQL does: truncate so that a round trip is exact.
        occurredAt = occurredAt.truncatedTo(ChronoUnit.MICROS);
    }
}
