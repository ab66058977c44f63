package io.cqrs.write.reconcile;

import org.jspecify.annotations.Nullable;

/**
 * One side's summary of a key range: how many keys, and the sum of a 64-bit hash of each key's key, version, write
 * count and deletion, computed by the database itself (the rows never travel). Equal summaries mean equal ranges but
 * for a hash collision that happens to cancel out in the sum.
 *
 * @param lastKey the range's last key, on the side that chose the range; null for an empty range
 */
record RangeSummary(long keys, String hash, @Nullable String lastKey) {

    /** The per-key hash both databases compute; the same text on both sides, so the sums compare. */
    static final String KEY_HASH =
            "hashtextextended(key || '/' || version || '/' || write_count || '/' || deleted::text, 0)";

    boolean sameAs(RangeSummary other) {
        return keys == other.keys && hash.equals(other.hash);
    }
}
