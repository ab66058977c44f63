package io.cqrs.stream;

import java.util.Comparator;
import org.jspecify.annotations.Nullable;

/** A Redis stream entry id, {@code <milliseconds>-<sequence>}, ordered as Redis orders them. */
public record StreamEntryId(long millis, long sequence) implements Comparable<StreamEntryId> {

    private static final Comparator<StreamEntryId> ORDER =
            Comparator.comparingLong(StreamEntryId::millis).thenComparingLong(StreamEntryId::sequence);

    public static StreamEntryId parse(String id) {
        int dash = id.indexOf('-');
        try {
            return new StreamEntryId(millisOf(id), dash < 0 ? 0 : Long.parseLong(id, dash + 1, id.length(), 10));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a stream entry id: " + id, e);
        }
    }

    /**
     * The millisecond part of an id, read in place: for a figure per entry on a hot path, where {@link #parse} would
     * allocate.
     */
    public static long millisOf(String id) {
        int dash = id.indexOf('-');
        try {
            return Long.parseLong(id, 0, dash < 0 ? id.length() : dash, 10);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a stream entry id: " + id, e);
        }
    }

    /** The smaller of two ids, either of which may be absent. */
    public static @Nullable StreamEntryId min(@Nullable StreamEntryId a, @Nullable StreamEntryId b) {
        if (a == null) {
            return b;
        }
        return b == null || a.compareTo(b) <= 0 ? a : b;
    }

    /** The smallest id after this one. */
    public StreamEntryId next() {
        return sequence == Long.MAX_VALUE ? new StreamEntryId(millis + 1, 0) : new StreamEntryId(millis, sequence + 1);
    }

    @Override
    public int compareTo(StreamEntryId other) {
        return ORDER.compare(this, other);
    }

    @Override
    public String toString() {
        return millis + "-" + sequence;
    }
}
