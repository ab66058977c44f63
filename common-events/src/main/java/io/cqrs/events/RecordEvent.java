package io.cqrs.events;

import java.time.Instant;

/** A change to one record, as published on the event stream; {@code version} orders the changes of a key. */
public sealed interface RecordEvent permits RecordWritten, RecordDeleted {

    /** Id of the command row in the write database that produced this event. */
    long commandId();

    String key();

    /** Per-key sequence over every command on the key, writes and deletes alike, starting at 1. */
    long version();

    /** Number of writes on the key up to and including this event. */
    long writeCount();

    /** Timestamp of the write transaction, in microseconds. */
    Instant occurredAt();
}
