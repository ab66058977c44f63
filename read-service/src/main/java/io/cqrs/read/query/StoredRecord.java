package io.cqrs.read.query;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/** One row of {@code records} as the read database holds it; a tombstone when {@code deleted}. */
record StoredRecord(
        String key,
        @Nullable String value,
        long version,
        long writeCount,
        long readCount,
        boolean deleted,
        Instant createdAt,
        Instant updatedAt) {

    /** What the record and its instants take beside its strings, roughly. */
    static final int FIXED_BYTES = 96;

    /** Roughly what it takes in memory: its strings at two bytes per character, plus the record and its instants. */
    int bytes() {
        return 2 * key.length() + (value == null ? 0 : 2 * value.length()) + FIXED_BYTES;
    }
}
