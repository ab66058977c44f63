package io.cqrs.read.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
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
                new CacheProperties(enabled, DataSize.ofKilobytes(64), true),
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
        cache = new NearCache<>(
                new CacheProperties(true, DataSize.ofKilobytes(64), true), Row::version, Row::bytes, meters);
        cache.resume();
        cache.get("k");
        cache.load("k", () -> new Row("v1", 1));
        cache.get("k");
        cache.get("k");

        assertThat(meters.get("cqrs.read.cache.hits").counter().count()).isEqualTo(2);
        assertThat(meters.get("cqrs.read.cache.misses").counter().count()).isEqualTo(1);
    }

    /** A loader of many keys: each key's row from {@code rows}, keys it does not hold left out (absent). */
    private static Function<List<String>, Map<String, Row>> rowsOf(Map<String, Row> rows) {
        return keys -> {
            var found = new HashMap<String, Row>();
            keys.stream().filter(rows::containsKey).forEach(key -> found.put(key, rows.get(key)));
            return found;
        };
    }

    @Test
    void warmsManyKeysAheadOfAnyRead() {
        int kept = cache.warm(List.of("a", "b", "gone"), rowsOf(Map.of("a", new Row("va", 1), "b", new Row("vb", 4))));

        assertThat(kept).isEqualTo(3);
        assertThat(cached("a")).isEqualTo(new Row("va", 1));
        assertThat(cached("b")).isEqualTo(new Row("vb", 4));
        assertThat(isCached("gone"))
                .as("a key the loader left out is cached as absent")
                .isTrue();
        assertThat(cached("gone")).isNull();
    }

    @Test
    void warmingDropsAKeyWhoseNewerVersionWasNotifiedDuringTheLoad() {
        int kept = cache.warm(List.of("a", "b"), keys -> {
            // The database was read before version 2 of "a" committed; its notification arrives before the load ends.
            cache.versionReached("a", 2);
            return Map.of("a", new Row("va1", 1), "b", new Row("vb", 1));
        });

        assertThat(kept).isEqualTo(1);
        assertThat(isCached("a")).isFalse();
        assertThat(cached("b")).isEqualTo(new Row("vb", 1));
    }

    @Test
    void warmingLeavesKeysAlreadyCachedOrLoadingAlone() {
        cache.load("a", () -> new Row("newer", 5));
        var asked = new ArrayList<String>();
        cache.load("b", () -> {
            // "b" is being loaded by a read while the warm-up runs.
            cache.warm(List.of("a", "b", "c"), keys -> {
                asked.addAll(keys);
                return Map.of("a", new Row("older", 4), "b", new Row("warm", 1), "c", new Row("vc", 1));
            });
            return new Row("read", 1);
        });

        assertThat(asked).containsExactly("c");
        assertThat(cached("a")).isEqualTo(new Row("newer", 5));
        assertThat(cached("b")).isEqualTo(new Row("read", 1));
        assertThat(cached("c")).isEqualTo(new Row("vc", 1));
    }

    @Test
    void warmingDropsWhatStraddledALostConnection() {
        int kept = cache.warm(List.of("a"), keys -> {
            cache.suspend();
            cache.resume();
            return Map.of("a", new Row("va", 1));
        });

        assertThat(kept).isZero();
        assertThat(isCached("a")).isFalse();
    }

    @Test
    void aFailedWarmUpLeavesNoPlaceholderBehind() {
        assertThatThrownBy(() -> cache.warm(List.of("a"), keys -> {
                    throw new IllegalStateException("database gone");
                }))
                .hasMessage("database gone");

        assertThat(cache.size()).isZero();
        cache.load("a", () -> new Row("va", 1));
        assertThat(cached("a")).isEqualTo(new Row("va", 1));
    }

    @Test
    void warmsNothingWhileBypassed() {
        cache.suspend();

        assertThat(cache.warm(List.of("a"), rowsOf(Map.of("a", new Row("va", 1)))))
                .isZero();

        cache.resume();
        assertThat(isCached("a")).isFalse();
    }

    @Test
    void toldWhenItComesBackIntoUse() {
        var resumed = new AtomicInteger();
        cache.onResume(resumed::incrementAndGet);

        cache.suspend();
        cache.resume();

        assertThat(resumed).hasValue(1);
        cache = cache(false);
        cache.onResume(resumed::incrementAndGet);
        cache.resume();
        assertThat(resumed).as("a disabled cache is never warmed").hasValue(1);
    }

    @Test
    void hasRoomUntilTheShareOfItsBoundIsTaken() {
        assertThat(cache.hasRoom(0.5)).isTrue();
        for (int i = 0; cache.hasRoom(0.5); i++) {
            cache.load("k" + i, () -> new Row("v".repeat(100), 1));
        }

        assertThat(cache.bytes()).isGreaterThanOrEqualTo(cache.maximumBytes() / 2);
        assertThat(cache.bytes()).isLessThan(cache.maximumBytes());
    }
}
