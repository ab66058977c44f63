package io.cqrs.read.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.util.unit.DataSize;

class NearCacheTests {

    record Row(String value, long version) {

        int bytes() {
            return 2 * value.length();
        }
    }

    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private NearCache<Row> cache = cache(true);

    private NearCache<Row> cache(boolean enabled) {
        return new NearCache<>(
                new CacheProperties(enabled, DataSize.ofKilobytes(64)),
                Row::version,
                Row::bytes,
                new SimpleMeterRegistry());
    }

    @BeforeEach
    void listenerIsUp() {
        cache.resume();
    }

    private @Nullable Row cached(String key) {
        return cache.get(key) instanceof NearCache.Hit<Row> hit ? hit.value() : null;
    }

    private boolean isCached(String key) {
        return cache.get(key) instanceof NearCache.Hit<Row>;
    }

    @Test
    void servesALoadedValueUntilANewerVersionIsNotified() {
        cache.load("k", () -> new Row("v1", 1));

        assertThat(cached("k")).isEqualTo(new Row("v1", 1));

        cache.versionReached("k", 2);

        assertThat(isCached("k")).isFalse();
    }

    @Test
    void keepsAnEntryWhenTheNotifiedVersionIsNotNewer() {
        cache.load("k", () -> new Row("v3", 3));

        cache.versionReached("k", 3);
        cache.versionReached("k", 2);

        assertThat(cached("k")).isEqualTo(new Row("v3", 3));
    }

    @Test
    void cachesAnAbsentKeyUntilItsFirstVersionIsNotified() {
        assertThat(cache.load("new", () -> null)).isNull();
        assertThat(isCached("new")).isTrue();

        cache.versionReached("new", 1);

        assertThat(isCached("new")).isFalse();
    }

    @Test
    void dropsALoadThatRacedANotificationForANewerVersion() {
        // The database was read before version 2 committed; its notification arrives before the load finishes.
        Row loaded = cache.load("k", () -> {
            cache.versionReached("k", 2);
            return new Row("v1", 1);
        });

        assertThat(loaded).isEqualTo(new Row("v1", 1));
        assertThat(isCached("k")).isFalse();
    }

    @Test
    void keepsALoadThatAlreadySawTheNotifiedVersion() {
        cache.load("k", () -> {
            cache.versionReached("k", 2);
            return new Row("v2", 2);
        });

        assertThat(cached("k")).isEqualTo(new Row("v2", 2));
    }

    @Test
    void emptiesAndBypassesItselfWhileNotificationsAreLost() {
        cache.load("k", () -> new Row("v1", 1));

        cache.suspend();

        assertThat(isCached("k")).isFalse();
        cache.load("k", () -> new Row("v1", 1));
        assertThat(cache.size()).isZero();

        cache.resume();
        cache.load("k", () -> new Row("v1", 1));
        assertThat(cached("k")).isEqualTo(new Row("v1", 1));
    }

    @Test
    void dropsALoadThatStraddledALostConnection() {
        cache.load("k", () -> {
            cache.suspend();
            cache.resume();
            return new Row("v1", 1);
        });

        assertThat(isCached("k")).isFalse();
    }

    @Test
    void neverCachesWhenDisabled() {
        cache = cache(false);
        cache.resume();

        cache.load("k", () -> new Row("v1", 1));

        assertThat(cache.isActive()).isFalse();
        assertThat(isCached("k")).isFalse();
    }

    @Test
    void staysWithinItsBound() {
        for (int i = 0; i < 1000; i++) {
            long version = i;
            cache.load("k" + i, () -> new Row("v", version));
        }

        assertThat(cache.bytes()).isLessThanOrEqualTo(DataSize.ofKilobytes(64).toBytes());
        assertThat(cache.size()).isLessThan(1000);
    }

    @Test
    void boundsLongAbsentKeysAndLargeValuesInBytesNotEntries() {
        String longKey = "k".repeat(7000);
        for (int i = 0; i < 200; i++) {
            cache.load(longKey + i, () -> null); // reads of keys that do not exist: cached as absent
        }
        cache.load("big", () -> new Row("v".repeat(20_000), 1));

        assertThat(cache.bytes())
                .as("200 absent 7 KB keys would take 2.8 MB; the bound is 64 KB")
                .isLessThanOrEqualTo(DataSize.ofKilobytes(64).toBytes());
    }

    @Test
    void countsHitsAndMisses() {
        cache = new NearCache<>(new CacheProperties(true, DataSize.ofKilobytes(64)), Row::version, Row::bytes, meters);
        cache.resume();
        cache.get("k");
        cache.load("k", () -> new Row("v1", 1));
        cache.get("k");
        cache.get("k");

        assertThat(meters.get("cqrs.read.cache.hits").counter().count()).isEqualTo(2);
        assertThat(meters.get("cqrs.read.cache.misses").counter().count()).isEqualTo(1);
    }
}
