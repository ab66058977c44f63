package io.cqrs.read.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;
import java.util.function.ToLongFunction;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hot records in memory, kept fresh by the projector's commit notifications instead of a TTL.
 *
 * <p>The guarantee: once the notification that a key reached version {@code v} has arrived, this cache never serves
 * that key at a version below {@code v}. Three things uphold it. A notification drops a cached entry older than
 * {@code v}. A load in flight is fenced: the notification raises the fence on its placeholder, and the loaded value is
 * only kept if it is at least as new as the fence (otherwise the database was read before the commit and the value
 * may be stale). And when the notification connection is lost the cache is emptied and bypassed until it is back,
 * because notifications sent meanwhile are gone; an epoch counter keeps loads that straddle the loss out of it.
 *
 * <p>Absent keys are cached too (as {@code null} at version 0), so a burst of reads for a key that is not projected
 * yet costs one query; the notification of its first version drops that entry like any other.
 *
 * @param <V> the cached value; {@code version} tells its version
 */
public final class NearCache<V> {

    private static final Logger log = LoggerFactory.getLogger(NearCache.class);

    private sealed interface Slot permits Cached, Loading {}

    /** A cached value, with the lookup answer made once so that a hit allocates nothing; its size in bytes, estimated. */
    private record Cached(Hit<?> hit, long version, int bytes) implements Slot {}

    /** A load in flight; {@code fence} is the highest version notified since it began. Guarded by the map's lock. */
    private static final class Loading implements Slot {
        final long epoch;
        long fence;

        Loading(long epoch) {
            this.epoch = epoch;
        }
    }

    /** What a lookup found: a hit (possibly of an absent key), or nothing usable. */
    public sealed interface Lookup<V> {}

    public record Hit<V>(@Nullable V value) implements Lookup<V> {}

    public record Miss<V>() implements Lookup<V> {}

    private static final Miss<?> MISS = new Miss<>();

    private final boolean enabled;
    private final ToLongFunction<V> version;
    private final ToIntFunction<V> bytes;
    private final Cache<String, Slot> cache;
    private final ConcurrentMap<String, Slot> slots;
    private final AtomicLong epoch = new AtomicLong();
    private volatile boolean active;
    private final Counter hits;
    private final Counter misses;
    private final Counter warmed;
    private volatile Runnable onResume = () -> {};

    /** Bytes an entry costs beyond its key and value: the map node, the slot, the hit and their headers, roughly. */
    public static final int ENTRY_OVERHEAD_BYTES = 160;

    /**
     * @param version the version a value holds
     * @param bytes the bytes a value takes in memory, estimated (its strings count two bytes per character)
     */
    public NearCache(
            CacheProperties properties, ToLongFunction<V> version, ToIntFunction<V> bytes, MeterRegistry meters) {
        this.enabled = properties.enabled();
        this.version = version;
        this.bytes = bytes;
        this.cache = Caffeine.newBuilder()
                .maximumWeight(properties.maxSize().toBytes())
                .<String, Slot>weigher((key, slot) ->
                        2 * key.length() + ENTRY_OVERHEAD_BYTES + (slot instanceof Cached cached ? cached.bytes() : 0))
                .build();
        this.slots = cache.asMap();
        this.hits = Counter.builder("cqrs.read.cache.hits")
                .description("Reads answered from the near cache")
                .register(meters);
        this.misses = Counter.builder("cqrs.read.cache.misses")
                .description("Reads that went to the read database (cache bypassed, or key not cached)")
                .register(meters);
        this.warmed = Counter.builder("cqrs.read.cache.warmed")
                .description("Entries loaded into the near cache ahead of any read of them (its warm-up)")
                .register(meters);
        Gauge.builder("cqrs.read.cache.entries", this, NearCache::size)
                .description("Keys in the near cache, loads in flight included")
                .register(meters);
        Gauge.builder("cqrs.read.cache.active", this, c -> c.isActive() ? 1 : 0)
                .description("1 while the cache is in use (enabled and notifications connected), else 0")
                .register(meters);
    }

    /** Whether lookups may be answered from memory right now. */
    public boolean isActive() {
        return enabled && active;
    }

    @SuppressWarnings("unchecked")
    public Lookup<V> get(String key) {
        if (isActive() && slots.get(key) instanceof Cached cached) {
            hits.increment();
            return (Lookup<V>) cached.hit();
        }
        misses.increment();
        return (Lookup<V>) MISS;
    }

    /**
     * Loads {@code key} with {@code loader} (which reads the database) and keeps the result when no newer version was
     * notified while it ran. The value returned is always the loader's own. Concurrent loads of one key each read the
     * database; only the first one is kept.
     */
    public @Nullable V load(String key, Supplier<@Nullable V> loader) {
        if (!isActive()) {
            return loader.get();
        }
        var loading = new Loading(epoch.get());
        if (slots.putIfAbsent(key, loading) != null) {
            // Another load is in flight or just finished: read for ourselves, keep theirs.
            return loader.get();
        }
        V value = null;
        boolean loaded = false;
        try {
            value = loader.get();
            loaded = true;
        } finally {
            if (!loaded) {
                slots.remove(key, loading);
            }
        }
        settle(key, loading, value);
        return value;
    }

    /**
     * Loads many keys ahead of any read of them, fenced as {@link #load} fences one: a placeholder for each key not
     * cached or loading yet, then {@code loader} once for those keys (key → value; a key it leaves out is cached as
     * absent), then each value is kept unless a newer version was notified meanwhile. Does nothing while the cache is
     * bypassed.
     *
     * @return how many of the keys were cached
     */
    public int warm(Collection<String> keys, Function<List<String>, Map<String, V>> loader) {
        if (!isActive()) {
            return 0;
        }
        long now = epoch.get();
        var placed = new LinkedHashMap<String, Loading>();
        for (String key : keys) {
            var loading = new Loading(now);
            if (slots.putIfAbsent(key, loading) == null) {
                placed.put(key, loading);
            }
        }
        if (placed.isEmpty()) {
            return 0;
        }
        Map<String, V> values = null;
        try {
            values = loader.apply(List.copyOf(placed.keySet()));
        } finally {
            if (values == null) {
                placed.forEach(slots::remove);
            }
        }
        int kept = 0;
        for (var entry : placed.entrySet()) {
            kept += settle(entry.getKey(), entry.getValue(), values.get(entry.getKey())) ? 1 : 0;
        }
        warmed.increment(kept);
        return kept;
    }

    /** Replaces the placeholder {@code loading} by {@code value}, unless it went stale meanwhile; true if kept. */
    private boolean settle(String key, Loading loading, @Nullable V value) {
        long loadedVersion = value == null ? 0 : version.applyAsLong(value);
        int loadedBytes = value == null ? 0 : bytes.applyAsInt(value);
        var kept = new boolean[1];
        slots.computeIfPresent(key, (k, current) -> {
            if (current != loading) {
                return current;
            }
            kept[0] = loading.fence <= loadedVersion && loading.epoch == epoch.get() && isActive();
            return kept[0] ? new Cached(new Hit<>(value), loadedVersion, loadedBytes) : null;
        });
        return kept[0];
    }

    /**
     * Whether less than {@code share} of the cache's bound is taken: more loaded ahead of reads would only evict what
     * was loaded before.
     */
    public boolean hasRoom(double share) {
        return bytes() < share * maximumBytes();
    }

    /** The cache's bound, in estimated bytes ({@link CacheProperties#maxSize}). */
    public long maximumBytes() {
        return cache.policy().eviction().orElseThrow().getMaximum();
    }

    /**
     * Runs {@code action} each time the cache comes back into use ({@link #resume()}), on the thread that resumes it:
     * the action should hand its work to a thread of its own.
     */
    public void onResume(Runnable action) {
        this.onResume = action;
    }

    /** A notification: {@code key} reached {@code version} in the read database. */
    public void versionReached(String key, long version) {
        slots.computeIfPresent(key, (k, current) -> switch (current) {
            case Cached cached -> cached.version() >= version ? cached : null;
            case Loading loading -> {
                loading.fence = Math.max(loading.fence, version);
                yield loading;
            }
        });
    }

    /** Notifications may have been missed: empty the cache and bypass it until {@link #resume()}. */
    public void suspend() {
        active = false;
        epoch.incrementAndGet();
        cache.invalidateAll();
        log.info("Near cache emptied and bypassed until commit notifications are back");
    }

    /** Notifications flow again (the listener is subscribed), so what is loaded from now on can be kept fresh. */
    public void resume() {
        epoch.incrementAndGet();
        active = true;
        if (enabled) {
            log.info("Near cache in use (at most {} KB of keys and records, estimated)", maximumBytes() / 1024);
            onResume.run();
        }
    }

    /** Entries held right now, evictions due included. */
    long size() {
        cache.cleanUp();
        return cache.estimatedSize();
    }

    /** The estimated bytes the cache holds, after pending evictions (see {@link CacheProperties#maxSize}). */
    long bytes() {
        cache.cleanUp();
        return cache.policy().eviction().orElseThrow().weightedSize().orElseThrow();
    }
}
