package io.cqrs.projector;

import io.cqrs.stream.StreamEntryId;
import java.time.Duration;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The projector's progress in the log: one line for the first batch after a quiet spell, then at most one line every
 * {@link #INTERVAL} summing up the batches since the last, so that the log says what was projected without a line per
 * batch. At low rates nothing groups, and the line per batch was about a fifth of the projector's CPU at 500 batches a
 * second (one JFR profile: 206 of 1,117 samples in Logback). Every batch is still logged at DEBUG; dead letters have
 * their own warnings, and the metrics count every batch.
 */
final class ProgressLog {

    private static final Logger log = LoggerFactory.getLogger(ProgressLog.class);

    /** Most one summary line per this long. */
    static final Duration INTERVAL = Duration.ofSeconds(10);

    private final long intervalNanos;

    // Since the last line: batches, entries, their estimated size, and what became of the events.
    private long batches;
    private long entries;
    private long bytes;
    private long applied;
    private long stale;
    private long deadLettered;
    private long slowestNanos;
    private @Nullable StreamEntryId upTo;
    // When the last line was written (System.nanoTime()); at first one interval ago, so the first batch is logged.
    private long loggedAt;

    ProgressLog() {
        this(INTERVAL);
    }

    ProgressLog(Duration interval) {
        this.intervalNanos = interval.toNanos();
        this.loggedAt = System.nanoTime() - intervalNanos;
    }

    /** One batch finished; writes the summary line when it is due. */
    synchronized void batch(
            int size,
            long batchBytes,
            StreamEntryId last,
            long appliedEvents,
            long staleEvents,
            int rejected,
            long tookNanos) {
        if (log.isDebugEnabled()) {
            log.debug(
                    "Projected {} entries ({} KB) up to {}: {} applied, {} stale, {} dead-lettered in {} ms",
                    size,
                    (batchBytes + 1023) / 1024,
                    last,
                    appliedEvents,
                    staleEvents,
                    rejected,
                    tookNanos / 1_000_000);
        }
        batches++;
        entries += size;
        bytes += batchBytes;
        applied += appliedEvents;
        stale += staleEvents;
        deadLettered += rejected;
        slowestNanos = Math.max(slowestNanos, tookNanos);
        if (upTo == null || last.compareTo(upTo) > 0) {
            upTo = last;
        }
        long now = System.nanoTime();
        if (now - loggedAt >= intervalNanos) {
            flush(now);
        }
    }

    /** Writes what was projected since the last line, if anything (at stop, so that nothing goes unsaid). */
    synchronized void flush() {
        if (batches > 0) {
            flush(System.nanoTime());
        }
    }

    private void flush(long now) {
        log.info(
                "Projected {} entries ({} KB) in {} batches up to {}: {} applied, {} stale, {} dead-lettered;"
                        + " slowest batch {} ms",
                entries,
                (bytes + 1023) / 1024,
                batches,
                upTo,
                applied,
                stale,
                deadLettered,
                slowestNanos / 1_000_000);
        batches = 0;
        entries = 0;
        bytes = 0;
        applied = 0;
        stale = 0;
        deadLettered = 0;
        slowestNanos = 0;
        upTo = null;
        loggedAt = now;
    }
}
