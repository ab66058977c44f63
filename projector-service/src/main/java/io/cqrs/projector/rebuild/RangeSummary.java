package io.cqrs.projector.rebuild;

import org.jspecify.annotations.Nullable;

/**
 * One side's summary of a key range, computed by the database (the rows never travel): how many keys, and the sum of a
 * 64-bit hash of each key's key, version, write count and deletion. The same hash as write-service's reconciliation, so
 * both compare a range alike.
 *
 * @param lastKey the range's last key on the side that chose the range; null for an empty range
 */
record RangeSummary(long keys, String hash, @Nullable String lastKey) {

    static final String KEY_HASH =
            "hashtextextended(key || '/' || version || '/' || write_count || '/' || deleted::text, 0)";

    boolean sameAs(RangeSummary other) {
        return keys == other.keys && hash.equals(other.hash);
    }
}
