package io.cqrs.read.changes;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
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

    /**
     * How long a waiting read sleeps between two looks at the database while no notifications flow (the listener is
     * reconnecting, or the read database is a standby without a primary to listen on): a wait must never outlast its
     * version only because nobody can wake it.
     */
    static final Duration POLL_WITHOUT_NOTIFICATIONS = Duration.ofMillis(50);

    private volatile boolean notificationsFlow;

    private final ConcurrentHashMap<String, Set<Waiter>> byKey = new ConcurrentHashMap<>();
    private final Timer listenerToReader;

    VersionWaiters(MeterRegistry meters) {
        // From the listener waking a waiting read to that read having the record at its version from the database.
        this.listenerToReader = stage(meters, "listener_to_reader");
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
        private volatile long notifiedAt;

        private Waiter(VersionWaiters owner, String key, long minVersion) {
            this.owner = owner;
            this.key = key;
            this.minVersion = minVersion;
        }

        /**
         * Blocks until woken or until {@code timeout} passes (while notifications do not flow, at most
         * {@link #POLL_WITHOUT_NOTIFICATIONS}); either way the caller looks at the database again.
         */
        public void await(Duration timeout) throws InterruptedException {
            long nanos = owner.notificationsFlow
                    ? timeout.toNanos()
                    : Math.min(timeout.toNanos(), POLL_WITHOUT_NOTIFICATIONS.toNanos());
            try {
                woken.get(Math.max(1, nanos), TimeUnit.NANOSECONDS);
            } catch (TimeoutException | ExecutionException e) {
                // Timed out: the caller decides from what the database says now.
            }
        }

        /** When a notification woke it ({@link System#nanoTime()}), or 0 if none did. */
        public long notifiedAt() {
            return notifiedAt;
        }

        @Override
        public void close() {
            owner.remove(this);
        }
    }

    /**
     * A read woken by a notification at {@code notifiedAt} ({@link Waiter#notifiedAt()}) found its version: the time
     * since goes into {@code cqrs_stage_seconds{stage="listener_to_reader"}}. Nothing when {@code notifiedAt} is 0.
     */
    public void found(long notifiedAt) {
        if (notifiedAt != 0) {
            listenerToReader.record(Math.max(0, System.nanoTime() - notifiedAt), TimeUnit.NANOSECONDS);
        }
    }

    /**
     * A stage of an event's way from the write commit to a read that sees it, {@code cqrs_stage_seconds{stage=...}},
     * named and bucketed as in the write and projector services. README "Metrics and health" says what each covers.
     */
    static Timer stage(MeterRegistry meters, String stage) {
        return Timer.builder("cqrs.stage")
                .description("Time events spend in one stage of their way from the write commit to a read that sees"
                        + " them, by stage")
                .tag("stage", stage)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(100_000))
                .maximumExpectedValue(Duration.ofSeconds(10))
                .register(meters);
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
                if (waiter.minVersion <= version && !waiter.woken.isDone()) {
                    waiter.notifiedAt = System.nanoTime();
                    waiter.woken.complete(null);
                }
            }
        }
    }

    /** Whether notifications flow, so that a waiter can count on being woken. */
    void notificationsFlow(boolean flow) {
        notificationsFlow = flow;
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
