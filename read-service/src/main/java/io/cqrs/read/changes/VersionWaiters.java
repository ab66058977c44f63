package io.cqrs.read.changes;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.springframework.stereotype.Component;

/**
 * Requests waiting for a key to reach a version (read-your-writes), woken by commit notifications rather than by
 * polling the database. A waiter is only a hint to look again: whoever waits re-reads the database when woken.
 */
@Component
public class VersionWaiters {

    private final ConcurrentHashMap<String, Set<Waiter>> byKey = new ConcurrentHashMap<>();

    VersionWaiters(MeterRegistry meters) {
        Gauge.builder("cqrs.read.waiters", this, VersionWaiters::size)
                .description("GET /read requests waiting for a key to reach a version (read-your-writes)")
                .register(meters);
    }

    /** One request waiting for {@code key} to reach {@code minVersion}. */
    public static final class Waiter implements AutoCloseable {
        private final VersionWaiters owner;
        private final String key;
        private final long minVersion;
        private final CompletableFuture<Void> woken = new CompletableFuture<>();

        private Waiter(VersionWaiters owner, String key, long minVersion) {
            this.owner = owner;
            this.key = key;
            this.minVersion = minVersion;
        }

        /** Blocks until woken or until {@code timeout} passes; either way the caller looks at the database again. */
        public void await(Duration timeout) throws InterruptedException {
            try {
                woken.get(Math.max(1, timeout.toNanos()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException | ExecutionException e) {
                // Timed out: the caller decides from what the database says now.
            }
        }

        @Override
        public void close() {
            owner.remove(this);
        }
    }

    /** Registers before the caller checks the database, so that a notification between check and wait is not lost. */
    public Waiter register(String key, long minVersion) {
        var waiter = new Waiter(this, key, minVersion);
        byKey.compute(key, (k, waiters) -> {
            Set<Waiter> set = waiters == null ? ConcurrentHashMap.newKeySet() : waiters;
            set.add(waiter);
            return set;
        });
        return waiter;
    }

    private void remove(Waiter waiter) {
        byKey.computeIfPresent(waiter.key, (k, waiters) -> {
            waiters.remove(waiter);
            return waiters.isEmpty() ? null : waiters;
        });
    }

    /** A notification: wakes whoever waits for {@code key} at {@code version} or below. */
    void versionReached(String key, long version) {
        Set<Waiter> waiters = byKey.get(key);
        if (waiters != null) {
            for (Waiter waiter : waiters) {
                if (waiter.minVersion <= version) {
                    waiter.woken.complete(null);
                }
            }
        }
    }

    /** Notifications may have been missed (the listener reconnected): everybody looks again. */
    void wakeAll() {
        byKey.values().forEach(waiters -> waiters.forEach(waiter -> waiter.woken.complete(null)));
    }

    /** Requests waiting right now. */
    int size() {
        return byKey.values().stream().mapToInt(Set::size).sum();
    }
}
