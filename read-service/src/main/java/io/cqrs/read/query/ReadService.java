package io.cqrs.read.query;

import io.cqrs.read.cache.NearCache;
import io.cqrs.read.changes.VersionWaiters;
import io.cqrs.read.readcount.ReadCounter;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Service;

/**
 * Reads a record for a client: from the near cache when it can, else the database; waits for a version when asked;
 * counts the read. A cached hot key costs no database I/O: the count is in memory too.
 */
@Service
class ReadService {

    /** The record served and its read count, this read included. */
    record Counted(StoredRecord record, long readCount) {}

    /** A record (or its absence) and whether its stored read count was read at {@code epoch}, fresh. */
    private record Found(@Nullable StoredRecord record, boolean fresh, long epoch) {}

    private final RecordRepository records;
    private final NearCache<StoredRecord> cache;
    private final ReadCounter counter;
    private final VersionWaiters waiters;
    private final WaitProperties waits;
    /** One permit per read waiting for a version, for its whole wait (it registers anew each time it is woken). */
    private final Semaphore waitSlots;

    ReadService(
            RecordRepository records,
            NearCache<StoredRecord> cache,
            ReadCounter counter,
            VersionWaiters waiters,
            WaitProperties waits) {
        this.records = records;
        this.cache = cache;
        this.counter = counter;
        this.waiters = waiters;
        this.waits = waits;
        this.waitSlots = new Semaphore(waits.maxWaiters());
    }

    /**
     * The live record under {@code key}, at {@code minVersion} or newer when given (waiting up to {@code wait}).
     *
     * @throws RecordNotFound when there is none (or it is deleted)
     * @throws VersionNotReached when {@code minVersion} was not reached in time
     * @throws TooManyWaiters when it would have to wait while the most reads allowed to wait already do
     */
    Counted read(String key, @Nullable Long minVersion, @Nullable Duration wait) {
        KeyTooLong.check(key);
        Found found = minVersion == null
                ? lookup(key)
                : lookupAtLeast(key, minVersion, waits.capped(wait == null ? waits.defaultWait() : wait));
        StoredRecord record = live(key, found.record());
        long readCount = found.fresh() ? counter.count(key, found.epoch(), record.readCount()) : counter.tryCount(key);
        while (readCount == ReadCounter.UNKNOWN) {
            // Served from the cache, but this instance holds no count for the key: learn the stored one.
            Found stored = fromDatabase(key);
            record = live(key, stored.record());
            readCount = counter.count(key, stored.epoch(), record.readCount());
        }
        return new Counted(record, readCount);
    }

    private Found lookup(String key) {
        if (cache.get(key) instanceof NearCache.Hit<StoredRecord> hit) {
            return new Found(hit.value(), false, 0);
        }
        return loaded(key);
    }

    /**
     * The record as the database holds it now (never what the cache holds), read through the cache, which keeps it
     * unless a newer version was notified meanwhile; its read count fresh at the epoch taken before the read.
     */
    private Found loaded(String key) {
        long epoch = counter.epoch();
        return new Found(cache.load(key, () -> records.find(key).orElse(null)), true, epoch);
    }

    /** The record as the database holds it now, its read count fresh at the epoch taken before the read. */
    private Found fromDatabase(String key) {
        long epoch = counter.epoch();
        return new Found(records.find(key).orElse(null), true, epoch);
    }

    /**
     * The record at {@code minVersion} or newer, waiting up to {@code wait} for it. The waiter is registered before the
     * first look (the cache, else the database), so that a notification arriving in between still wakes it: a read that
     * has to wait looks once before and once after each wake-up, not twice before. A read that finds its version at once
     * needs no slot; one that would wait while every slot is taken is refused.
     */
    private Found lookupAtLeast(String key, long minVersion, Duration wait) {
        if (!waitSlots.tryAcquire()) {
            Found found = lookup(key);
            if (versionOf(found.record()) >= minVersion) {
                return found;
            }
            throw new TooManyWaiters(waits.retryAfterSeconds());
        }
        try {
            return awaitVersionInSlot(key, minVersion, wait);
        } finally {
            waitSlots.release();
        }
    }

    private Found awaitVersionInSlot(String key, long minVersion, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        long notifiedAt = 0;
        boolean first = true;
        while (true) {
            // Register first, then look: a notification arriving in between still wakes us.
            try (var waiter = waiters.register(key, minVersion)) {
                // The first look may be the cache; once woken or timed out, the database, whatever the cache holds,
                // read through the cache: the next read-your-writes read of the key then finds this version there and
                // waits without asking the database first (a waiting read took two queries, now one).
                Found found = first ? lookup(key) : loaded(key);
                first = false;
                StoredRecord current = found.record();
                if (versionOf(current) >= minVersion) {
                    waiters.found(notifiedAt);
                    return found;
                }
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    throw new VersionNotReached(
                            key, minVersion, current == null ? null : current.version(), waits.retryAfterSeconds());
                }
                waiter.await(Duration.ofNanos(remaining));
                notifiedAt = waiter.notifiedAt();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new VersionNotReached(key, minVersion, null, waits.retryAfterSeconds());
            }
        }
    }

    private static StoredRecord live(String key, @Nullable StoredRecord record) {
        if (record == null || record.deleted()) {
            throw new RecordNotFound(key);
        }
        return record;
    }

    private static long versionOf(@Nullable StoredRecord record) {
        return record == null ? 0 : record.version();
    }
}
