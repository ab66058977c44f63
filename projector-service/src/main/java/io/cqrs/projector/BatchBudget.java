package io.cqrs.projector;

import io.cqrs.events.EventCodec;
import io.cqrs.events.RecordWritten;
import io.lettuce.core.StreamMessage;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How much one batch may hold: at most {@code maxEntries} entries and about {@code maxBytes} bytes of heap.
 *
 * <p>Redis cannot limit a read in bytes, and Lettuce decodes a reply whole, so the bound comes from the largest entry
 * the write side can publish: a batch is filled by successive reads (or claims), each asking for no more entries than
 * the budget left could hold were they all that large ({@link Fill#room()}), until a read comes back short, the
 * entries are reached or the budget is spent. Large entries shrink the batch to what fits; small ones keep the big
 * batches at the cost of more round trips (with the defaults, about 40 reads of up to 254 entries for 8,000 small
 * events instead of one read, sent while the previous batch is applied; projector-service/README.md has figures).
 *
 * <p>Sizes are estimates of the heap a decoded entry takes: two bytes per character (a string with one character
 * beyond Latin-1 is stored so throughout), plus the objects around them. An entry larger than the largest expected (a
 * producer other than the write service, or a write limit raised for it alone) is counted at its real size, said once
 * in the log and in {@code cqrs_projector_oversized_entries_total}, and from then on the reads ask for as few entries as
 * the largest one seen requires.
 */
final class BatchBudget {

    private static final Logger log = LoggerFactory.getLogger(BatchBudget.class);

    // Object headers, lengths and references, rounded up: a String with its array; a map node; the entry, its id and
    // its map with the map's table.
    private static final long STRING_BYTES = 48;
    private static final long FIELD_BYTES = 48;
    private static final long ENTRY_BYTES = 256;

    // The longest key the write side accepts is 255 code points, each two chars when outside the BMP.
    private static final String LONGEST_KEY = "\uD83D\uDE00".repeat(255);

    private final int maxEntries;
    private final long maxBytes;
    private final long expectedLargest;
    private final Runnable oversized;
    private final AtomicLong largest;
    private final AtomicBoolean oversizedLogged = new AtomicBoolean();

    /**
     * @param largestEntry the estimated size of the largest entry expected ({@link #largestEntry(int)})
     * @param oversized called for each entry found larger than that
     */
    BatchBudget(int maxEntries, long maxBytes, long largestEntry, Runnable oversized) {
        if (maxEntries < 1 || maxBytes < 1 || largestEntry < 1) {
            throw new IllegalArgumentException("a batch budget needs room for one entry at least");
        }
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
        this.expectedLargest = largestEntry;
        this.oversized = oversized;
        this.largest = new AtomicLong(largestEntry);
    }

    static BatchBudget of(ProjectorProperties.Projector settings, ProjectorMetrics metrics) {
        return new BatchBudget(
                settings.batchSize(),
                settings.batchMaxBytes().toBytes(),
                largestEntry(settings.maxValueBytes()),
                metrics::oversizedEntry);
    }

    /**
     * The estimated size of the largest entry the write service publishes with values of at most
     * {@code maxValueBytes} UTF-8 bytes: a write of the longest key, a value of that many characters (one byte each
     * in UTF-8, two on the heap), and every number at its widest.
     */
    static long largestEntry(int maxValueBytes) {
        var widest = new RecordWritten(
                Long.MAX_VALUE,
                LONGEST_KEY,
                "v".repeat(maxValueBytes),
                Long.MAX_VALUE,
                Long.MAX_VALUE,
                Instant.parse("9999-12-31T23:59:59.999999Z"));
        return sizeOf(Long.MAX_VALUE + "-" + Long.MAX_VALUE, EventCodec.encode(widest));
    }

    /** The estimated heap a decoded stream entry takes. */
    static long sizeOf(StreamMessage<String, String> entry) {
        return sizeOf(entry.getId(), entry.getBody());
    }

    private static long sizeOf(String id, @Nullable Map<String, String> body) {
        long bytes = ENTRY_BYTES + string(id);
        if (body != null) {
            for (var field : body.entrySet()) {
                bytes += FIELD_BYTES + string(field.getKey()) + string(field.getValue());
            }
        }
        return bytes;
    }

    private static long string(@Nullable String text) {
        return text == null ? 0 : STRING_BYTES + 2L * text.length();
    }

    /** An empty batch to fill. */
    Fill fill() {
        return new Fill();
    }

    /**
     * Entries read or claimed together, their estimated size, and whether the batch is full (the entries or the budget
     * reached): then more may be waiting, and reading ahead pays.
     */
    record Batch(List<StreamMessage<String, String>> entries, long bytes, boolean full) {

        static final Batch EMPTY = new Batch(List.of(), 0, false);

        Batch {
            entries = List.copyOf(entries);
        }
    }

    /**
     * A batch being filled, read after read. Not thread-safe: one read at a time adds to it (a chain of reads runs its
     * steps one after the other, on whichever thread completes the previous one).
     */
    final class Fill {

        private final List<StreamMessage<String, String>> entries = new ArrayList<>();
        private long bytes;
        private boolean ranDry;
        private volatile int reads;

        private Fill() {}

        /**
         * How many entries the next read may ask for: as many as are still allowed, and as fit in the budget left were
         * they all as large as the largest expected; 0 when the batch is full. An empty batch has room for one entry
         * whatever its size, so that a batch always moves on.
         */
        int room() {
            long entriesLeft = maxEntries - entries.size();
            long fitting = (maxBytes - bytes) / largest.get();
            long room = Math.min(entriesLeft, entries.isEmpty() ? Math.max(1, fitting) : fitting);
            return (int) Math.max(0, room);
        }

        /** Adds what one read or claim returned, at each entry's own size. */
        void add(List<StreamMessage<String, String>> read) {
            for (var entry : read) {
                long size = sizeOf(entry);
                if (size > expectedLargest) {
                    oversized(entry, size);
                }
                bytes += size;
                entries.add(entry);
            }
            reads++;
        }

        /** Says that the latest read returned fewer entries than it asked for: there are no more for now. */
        void ranDry() {
            ranDry = true;
        }

        /** Whether another read is worth sending: the reads so far came back full, and there is room. */
        boolean wantsMore() {
            return !ranDry && room() > 0;
        }

        /** How many reads have added to the batch so far: whether a chain of reads is still moving. */
        int reads() {
            return reads;
        }

        /** The batch as filled so far; full when no read ran dry and there is no room left for another. */
        Batch batch() {
            return new Batch(entries, bytes, !ranDry && room() == 0);
        }

        private void oversized(StreamMessage<String, String> entry, long size) {
            oversized.run();
            largest.accumulateAndGet(size, Math::max);
            if (oversizedLogged.compareAndSet(false, true)) {
                log.warn(
                        "Entry {} takes about {} bytes, more than the {} bytes of the largest entry the write limits"
                                + " allow (CQRS_MAX_VALUE_BYTES); counted at its size, and reads are sized for the"
                                + " largest entry seen from now on. Said once; cqrs_projector_oversized_entries_total"
                                + " counts them.",
                        entry.getId(),
                        size,
                        expectedLargest);
            }
        }
    }
}
