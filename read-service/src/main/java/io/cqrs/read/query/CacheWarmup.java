package io.cqrs.read.query;

import io.cqrs.read.cache.CacheProperties;
import io.cqrs.read.cache.NearCache;
import io.cqrs.read.readcount.ReadCounter;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Fills the near cache from the read database as soon as it comes into use (at start, and when the commit notifications
 * are back after a loss), most read records first, until it is nearly full, and tells the read counter their stored
 * counts. Filled key by key as clients read, a restarted instance answered most reads from the database for the first
 * minute: 100,000 keys read at random take about 230,000 reads before nine in ten have been read once, and over a
 * million before all have. Each chunk of keys is loaded as one fenced load ({@link NearCache#warm}), so a record
 * committed meanwhile is never kept stale.
 */
@Component
class CacheWarmup {

    private static final Logger log = LoggerFactory.getLogger(CacheWarmup.class);

    /** Keys loaded per query. */
    static final int CHUNK = 500;

    /** Share of the cache's bound the warm-up fills: the rest is left to what clients actually read. */
    static final double FILL = 0.9;

    private final RecordRepository records;
    private final NearCache<StoredRecord> cache;
    private final ReadCounter counter;
    private final AtomicBoolean warming = new AtomicBoolean();

    CacheWarmup(
            RecordRepository records, NearCache<StoredRecord> cache, ReadCounter counter, CacheProperties properties) {
        this.records = records;
        this.cache = cache;
        this.counter = counter;
        if (properties.warmUp()) {
            cache.onResume(this::warmSoon);
        }
    }

    /**
     * Starts a warm-up on a thread of its own, unless one runs already: a platform thread, which the operating system
     * schedules beside the carriers of the requests' virtual threads, where a virtual one would queue for a carrier
     * behind every runnable request.
     */
    private void warmSoon() {
        if (warming.compareAndSet(false, true)) {
            Thread.ofPlatform().daemon().name("near-cache-warm-up").start(() -> {
                try {
                    warm();
                } finally {
                    warming.set(false);
                }
            });
        }
    }

    /** Loads the most read records into the cache until it is nearly full or bypassed again; returns how many. */
    int warm() {
        long started = System.nanoTime();
        int kept = 0;
        try {
            List<String> keys = records.mostRead(
                    counter.maxKeys(),
                    (long) (FILL * cache.maximumBytes()),
                    NearCache.ENTRY_OVERHEAD_BYTES + StoredRecord.FIXED_BYTES);
            for (int from = 0; from < keys.size() && cache.isActive() && cache.hasRoom(FILL); from += CHUNK) {
                long epoch = counter.epoch();
                kept += cache.warm(keys.subList(from, Math.min(keys.size(), from + CHUNK)), missing -> {
                    var found = records.findAll(missing);
                    found.values().forEach(record -> counter.learn(record.key(), epoch, record.readCount()));
                    return found;
                });
            }
            log.info(
                    "Near cache warmed up with {} of the {} most read records in {} ms",
                    kept,
                    keys.size(),
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        } catch (RuntimeException e) {
            // Reads fill the cache as before; nothing depends on the warm-up but their speed.
            log.warn("Near cache warm-up stopped after {} records: {}", kept, e.getMessage());
        }
        return kept;
    }
}
