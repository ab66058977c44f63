package io.cqrs.read.readcount;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts successful reads in memory, per key, until {@link ReadCountFlusher} stores them.
 *
 * <p>Per key it knows three numbers: {@code stored} (the database's {@code read_count} as last seen), {@code pending}
 * (counted, not yet handed to a flush) and {@code inflight} (handed to a flush that has not committed). A read returns
 * their sum after adding itself. A flush moves {@code pending} to {@code inflight}, and on commit moves
 * {@code inflight} into {@code stored}; on failure back into {@code pending}. Each move happens under the key's lock
 * and keeps the sum, so the number a reader sees never goes backwards and no read is counted twice or lost.
 *
 * <p>Memory is bounded by {@code maxKeys}: while more keys than that are tracked, keys nobody read for a few flushes
 * are retired. Below the bound nothing is retired, so a hot key set that fits (the near cache's, typically) is counted
 * without touching the database: retiring every key idle for two seconds made three out of four reads of 100k keys
 * go to the database just to learn a count. The next read of a retired key must learn {@code stored} from the
 * database again; {@link #epoch()} guards that: a row read before a retirement round may predate the last flush, so
 * it is not trusted after one.
 */
public final class ReadCounter {

    /** Flushes a key may sit idle (nothing pending or in flight) before it is forgotten. */
    private static final int RETIRE_AFTER_IDLE_FLUSHES = 2;

    /** Returned by the counting methods when the caller must read the key's stored count from the database. */
    public static final long UNKNOWN = -1;

    private static final class KeyReads {
        long stored;
        long pending;
        long inflight;
        int idleFlushes;
        boolean retired;

        KeyReads(long stored) {
            this.stored = stored;
        }

        synchronized long add() {
            if (retired) {
                return UNKNOWN;
            }
            pending++;
            idleFlushes = 0;
            return stored + inflight + pending;
        }
    }

    /** The counts one flush takes, key by key; keys sorted so that concurrent flushers lock rows in one order. */
    record Batch(List<String> keys, List<Long> deltas, long total, long oldestNanos) {
        boolean isEmpty() {
            return keys.isEmpty();
        }
    }

    private final int maxKeys;
    private final ConcurrentHashMap<String, KeyReads> keys = new ConcurrentHashMap<>();
    private final AtomicLong epoch = new AtomicLong();
    /** Odd while a flush is between taking counts and settling them (a seqlock for consistent totals). */
    private final AtomicLong generation = new AtomicLong();

    private final LongAdder unflushed = new LongAdder();
    private final AtomicLong oldestPendingNanos = new AtomicLong();
    private volatile long oldestInflightNanos;

    /** @param maxKeys keys tracked before idle ones are retired */
    ReadCounter(int maxKeys) {
        if (maxKeys < 1) {
            throw new IllegalArgumentException("maxKeys must be at least 1, was " + maxKeys);
        }
        this.maxKeys = maxKeys;
    }

    /** Keys tracked before idle ones are retired. */
    public int maxKeys() {
        return maxKeys;
    }

    /** Captured before reading a stored count from the database, and handed to {@link #count(String, long, long)}. */
    public long epoch() {
        return epoch.get();
    }

    /** Counts a read of a key whose stored count is known here; {@link #UNKNOWN} otherwise. */
    public long tryCount(String key) {
        KeyReads reads = keys.get(key);
        return reads == null ? UNKNOWN : counted(reads.add());
    }

    /**
     * Counts a read, learning the key's stored count from {@code storedReadCount}, a row read after {@code epoch} was
     * taken; {@link #UNKNOWN} when that row may be stale, in which case the caller reads it again.
     */
    public long count(String key, long epoch, long storedReadCount) {
        while (true) {
            KeyReads reads = keys.get(key);
            if (reads == null) {
                if (epoch != this.epoch.get()) {
                    return UNKNOWN;
                }
                var fresh = new KeyReads(storedReadCount);
                KeyReads raced = keys.putIfAbsent(key, fresh);
                reads = raced == null ? fresh : raced;
            }
            long total = reads.add();
            if (total != UNKNOWN) {
                return counted(total);
            }
            // Retired under our feet: it is leaving the map; look again.
        }
    }

    /**
     * Learns a key's stored count ahead of any read of it (the near cache's warm-up), from a row read after
     * {@code epoch} was taken, so that its reads need not ask the database. Ignored when the key is known already, when
     * the row may be stale, and once {@code maxKeys} keys are known: what is read decides what stays then.
     */
    public void learn(String key, long epoch, long storedReadCount) {
        if (epoch == this.epoch.get() && keys.size() < maxKeys) {
            keys.putIfAbsent(key, new KeyReads(storedReadCount));
        }
    }

    private long counted(long total) {
        if (total != UNKNOWN) {
            unflushed.increment();
            if (oldestPendingNanos.get() == 0) {
                oldestPendingNanos.compareAndSet(0, System.nanoTime() | 1);
            }
        }
        return total;
    }

    /** Reads counted by this instance and not yet committed to the database. */
    public long unflushed() {
        return unflushed.sum();
    }

    /**
     * The flush generation: even and unchanged around a read of {@code read_totals} plus {@link #unflushed()} means
     * the two are consistent (no flush committed in between).
     */
    public long generation() {
        return generation.get();
    }

    /** Seconds since the oldest read not yet committed to the database was counted; 0 when there is none. */
    double flushLagSeconds() {
        long pending = oldestPendingNanos.get();
        long inflight = oldestInflightNanos;
        long oldest = pending == 0 ? inflight : inflight == 0 ? pending : Math.min(pending, inflight);
        return oldest == 0 ? 0 : Math.max(0, System.nanoTime() - oldest) / 1e9;
    }

    /** Takes every pending count for a flush; follow with {@link #committed} or {@link #failed}. One flusher only. */
    Batch take() {
        generation.incrementAndGet();
        long oldest = oldestPendingNanos.getAndSet(0);
        oldestInflightNanos = oldest;
        var taken = new ArrayList<Map.Entry<String, Long>>();
        long total = 0;
        for (var entry : keys.entrySet()) {
            KeyReads reads = entry.getValue();
            long delta;
            synchronized (reads) {
                delta = reads.pending;
                reads.pending = 0;
                reads.inflight += delta;
            }
            if (delta > 0) {
                taken.add(Map.entry(entry.getKey(), delta));
                total += delta;
            }
        }
        taken.sort(Map.Entry.comparingByKey());
        return new Batch(
                taken.stream().map(Map.Entry::getKey).toList(),
                taken.stream().map(Map.Entry::getValue).toList(),
                total,
                oldest);
    }

    /** The batch is stored; {@code storedAfter} holds each key's {@code read_count} after the update. */
    void committed(Batch batch, Map<String, Long> storedAfter) {
        for (int i = 0; i < batch.keys().size(); i++) {
            String key = batch.keys().get(i);
            long delta = batch.deltas().get(i);
            KeyReads reads = keys.get(key);
            if (reads != null) {
                synchronized (reads) {
                    reads.inflight -= delta;
                    // Other instances' flushes show up here too; never step back.
                    reads.stored = Math.max(reads.stored + delta, storedAfter.getOrDefault(key, 0L));
                }
            }
        }
        unflushed.add(-batch.total());
        oldestInflightNanos = 0;
        generation.incrementAndGet();
    }

    /** The batch could not be stored: its counts go back to pending, to be taken by the next flush. */
    void failed(Batch batch) {
        for (int i = 0; i < batch.keys().size(); i++) {
            KeyReads reads = keys.get(batch.keys().get(i));
            long delta = batch.deltas().get(i);
            if (reads != null) {
                synchronized (reads) {
                    reads.inflight -= delta;
                    reads.pending += delta;
                }
            }
        }
        if (batch.oldestNanos() != 0) {
            oldestPendingNanos.accumulateAndGet(
                    batch.oldestNanos(), (current, oldest) -> current == 0 ? oldest : Math.min(current, oldest));
        }
        oldestInflightNanos = 0;
        generation.incrementAndGet();
    }

    /** Forgets keys idle for a while when more than {@code maxKeys} are tracked, bounding memory. */
    void retireIdle() {
        boolean overBound = keys.size() > maxKeys;
        var idle = new ArrayList<Map.Entry<String, KeyReads>>();
        for (var entry : keys.entrySet()) {
            KeyReads reads = entry.getValue();
            synchronized (reads) {
                if (reads.pending == 0 && reads.inflight == 0 && ++reads.idleFlushes > RETIRE_AFTER_IDLE_FLUSHES) {
                    if (overBound) {
                        idle.add(entry);
                    }
                }
            }
        }
        if (idle.isEmpty()) {
            return;
        }
        epoch.incrementAndGet();
        for (var entry : idle) {
            KeyReads reads = entry.getValue();
            synchronized (reads) {
                if (reads.pending == 0 && reads.inflight == 0) {
                    reads.retired = true;
                    keys.remove(entry.getKey(), reads);
                }
            }
        }
    }
}
