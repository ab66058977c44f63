package io.cqrs.projector;

import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.RedisConnections;
import io.cqrs.stream.StreamEntryId;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisException;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;
import org.springframework.util.backoff.ExponentialBackOff;

/**
 * The consumer loop: reads the stream as one consumer of the group and hands each batch to the {@link BatchApplier}.
 *
 * <p>One thread of its own with its own blocking connection. At start it creates the group if needed and re-processes
 * its own pending entries once, then reads new ones; between reads it claims entries consumers left idle, those past
 * the delivery limit only after their backoff ({@link DeliveryLimit}). Every batch, read or claimed, stays within the
 * {@link BatchBudget} in entries and in bytes. When a read returns a full batch (a backlog), the next batch is
 * requested before this one is applied, so that Redis and the client decode it while the read database applies this
 * one; a stop applies that batch too before it ends. So at most two batches are in memory: the one applied and the
 * one read ahead, or a batch read ahead and a batch of claimed entries. Redis or the read database failing means a
 * pause with exponential backoff and another try, never a skipped entry: an entry leaves the pending list only once
 * the read model holds it or the dead-letter stream does.
 *
 * <p>Operators pause and resume it ({@link PauseSwitch}): between batches the loop asks whether it may go on; a paused
 * loop applies the batch it already read ahead, then reads and claims nothing, keeps its pending entries, and looks
 * again every {@link PauseSwitch#CHECK_INTERVAL}. The public methods are the hooks of the operator endpoint
 * ({@code io.cqrs.projector.control}): status, pause and resume; nothing else is public.
 */
@Component
public class StreamConsumer implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(StreamConsumer.class);

    // Pages of the pending list per claim step, so that a large backlog of abandoned entries does not starve new ones.
    private static final int CLAIM_ROUNDS = 10;

    private static final StreamEntryId FIRST = new StreamEntryId(0, 0);

    private final ProjectorProperties.Projector settings;
    private final DeliveryLimit limit;
    private final StreamGroup group;
    private final RedisConnections connections;
    private final BatchApplier batches;
    private final ProjectorMetrics metrics;
    private final BatchBudget budget;
    private final ExponentialBackOff backOff;
    private final Clock clock;
    private final PauseSwitch pause;
    private final Object parking = new Object();

    // The thread of the current run and its stop signal; null while stopped.
    private volatile @Nullable Run current;

    // What the status shows: whether the loop holds for a pause, the last entry it applied, its last failure.
    private volatile boolean parked;
    private volatile @Nullable String lastApplied;
    private volatile @Nullable Failure lastFailure;

    private record Failure(String description, Instant at) {}

    /**
     * This consumer as the operator endpoint shows it.
     *
     * @param running whether its loop runs (false before start and after stop)
     * @param instancePaused whether this instance was paused on its own
     * @param groupPaused whether the group is paused, as the loop last saw it
     * @param parked whether the loop holds for the pause now (false while it finishes the batch in hand)
     * @param position the last entry it applied, or null when it has applied none since it started
     * @param lastError its last failure (retried), or null
     * @param lastErrorAt when that failure happened
     */
    public record Status(
            String stream,
            String group,
            String consumer,
            boolean running,
            boolean instancePaused,
            boolean groupPaused,
            boolean parked,
            @Nullable String position,
            @Nullable String lastError,
            @Nullable Instant lastErrorAt) {

        /** Whether a pause, of this instance or the group, applies to it. */
        public boolean paused() {
            return instancePaused || groupPaused;
        }
    }

    private record Run(Thread thread, Retry retry) {}

    StreamConsumer(
            ProjectorProperties properties,
            LazyRedisConnection redis,
            RedisConnections connections,
            BatchApplier batches,
            ProjectorMetrics metrics,
            Clock clock) {
        this.settings = properties.projector();
        this.limit = DeliveryLimit.of(settings);
        this.group = new StreamGroup(
                redis, properties.events().stream(), properties.events().group(), settings.consumer());
        this.connections = connections;
        this.batches = batches;
        this.metrics = metrics;
        this.budget = BatchBudget.of(settings, metrics);
        this.clock = clock;
        this.backOff = new ExponentialBackOff(settings.retryBackoff().toMillis(), 2.0);
        this.backOff.setMaxInterval(settings.retryMaxBackoff().toMillis());
        this.pause = new PauseSwitch(redis, group.stream(), group.group(), settings.consumer(), clock);
    }

    public Status status() {
        var failure = lastFailure;
        return new Status(
                group.stream(),
                group.group(),
                settings.consumer(),
                isRunning(),
                pause.instancePaused(),
                pause.groupPausedAsSeen(),
                parked,
                lastApplied,
                failure == null ? null : failure.description(),
                failure == null ? null : failure.at());
    }

    /** Pauses this instance: it finishes the batch in hand, then reads and claims nothing until resumed. */
    public void pauseInstance() {
        pause.instance(true);
        log.info("Consumer {} of group {} asked to pause", settings.consumer(), group.group());
    }

    /** Resumes this instance (a pause of the whole group still holds it). */
    public void resumeInstance() {
        pause.instance(false);
        log.info("Consumer {} of group {} asked to resume", settings.consumer(), group.group());
    }

    /**
     * Pauses every consumer of the group, in every instance, those started later too (a field of the control hash in
     * Redis); this one at once, the others within {@link PauseSwitch#CHECK_INTERVAL}. Redis failures reach the caller.
     */
    public void pauseGroup() {
        pause.group(true);
        log.info("Consumer group {} of stream {} paused", group.group(), group.stream());
    }

    /** Resumes the group (an instance paused on its own stays paused). Redis failures reach the caller. */
    public void resumeGroup() {
        pause.group(false);
        log.info("Consumer group {} of stream {} resumed", group.group(), group.stream());
    }

    /** Whether the group is paused, as Redis holds it now (also refreshes what the loop sees). */
    public boolean groupPaused() {
        return pause.groupPausedNow();
    }

    /** Waits up to {@code patience} for the loop to hold for a pause; whether it does. */
    public boolean awaitParked(Duration patience) {
        long deadline = System.nanoTime() + patience.toNanos();
        synchronized (parking) {
            while (!parked && isRunning()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    parking.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return parked;
                }
            }
            return parked;
        }
    }

    /** The control hash's field in which {@code consumer} of {@code group} announces a pause of its own. */
    public static String pauseField(String group, String consumer) {
        return PauseSwitch.instanceField(group, consumer);
    }

    /** How long a running consumer of this configuration goes without reading at most: a poll and a timeout, twice. */
    public Duration livenessWindow() {
        return settings.pollInterval().plus(settings.commandTimeout()).multipliedBy(2);
    }

    @Override
    public synchronized void start() {
        if (current != null) {
            return;
        }
        // Each run has its own stop signal: a loop that stop() gave up waiting for cannot carry on in a new run.
        var retry = new Retry(backOff, this::failed);
        var thread = Thread.ofPlatform()
                .name("projector-" + settings.consumer())
                .daemon(true)
                .unstarted(() -> run(new Position(retry)));
        current = new Run(thread, retry);
        thread.start();
    }

    /**
     * Lets the current batch finish (or abandons its retries: its entries stay pending and are processed again), waits
     * for the blocking read to return, and closes the reader connection. After a read, a command timeout and a margin
     * it stops waiting and interrupts the loop, so that a shutdown never hangs on it.
     */
    @Override
    public synchronized void stop() {
        var run = current;
        if (run == null) {
            return;
        }
        current = null;
        run.retry().stop();
        pause.wake();
        Duration patience =
                settings.pollInterval().plus(settings.commandTimeout()).plusSeconds(5);
        try {
            if (!run.thread().join(patience)) {
                log.warn("Consumer {} did not stop within {}; interrupting it", settings.consumer(), patience);
                run.thread().interrupt();
                run.thread().join(settings.commandTimeout());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public boolean isRunning() {
        return current != null;
    }

    /** Where one run is: its reader, group ready, own pending re-read up to, next claim, batch requested ahead. */
    private static final class Position {
        private final Retry retry;
        private @Nullable StatefulRedisConnection<String, String> reader;
        private boolean groupReady;
        private @Nullable StreamEntryId ownPendingFrom = FIRST;
        private Instant nextClaim = Instant.MIN;
        private @Nullable Reading prefetched;

        Position(Retry retry) {
            this.retry = retry;
        }

        void restart() {
            groupReady = false;
            ownPendingFrom = FIRST;
            if (prefetched != null) {
                prefetched.batch().cancel(false);
                prefetched = null;
            }
        }
    }

    /** A batch being read: what it holds so far, and the chain of reads that completes it. */
    private record Reading(BatchBudget.Fill fill, CompletableFuture<BatchBudget.Batch> batch) {}

    private void run(Position position) {
        log.info("Consumer {} of group {} reading stream {}", settings.consumer(), group.group(), group.stream());
        try {
            while (!position.retry.stopped()) {
                position.retry.run(() -> step(position), failure -> false, failure -> recover(position, failure));
            }
        } catch (Retry.Stopped e) {
            // stop() was called during a pause: the entries in hand stay pending
        }
        try {
            // A stop between two batches of a backlog: the batch already requested is delivered to this consumer, so it
            // is applied now rather than left pending until another consumer claims it.
            var batch = takePrefetched(position);
            if (!batch.entries().isEmpty()) {
                apply(batch.entries(), false, position.retry);
            }
        } catch (RuntimeException e) {
            log.warn("Could not apply the batch read ahead before stopping; it stays pending: {}", e.toString());
        } finally {
            synchronized (parking) {
                parked = false;
                parking.notifyAll();
            }
            if (position.reader != null) {
                position.reader.close();
            }
            batches.logProgress();
            log.info("Consumer {} of group {} stopped", settings.consumer(), group.group());
        }
    }

    private void step(Position position) {
        if (pause.holds()) {
            hold(position);
            return;
        }
        setParked(false);
        if (position.reader == null) {
            // Lettuce drops replies that outlast the timeout, while their entries land in our pending list.
            position.reader = connections.open(settings.pollInterval().plus(settings.commandTimeout()));
        }
        var reader = position.reader;
        if (!position.groupReady) {
            group.create();
            pause.clearStaleAnnouncement();
            position.groupReady = true;
        }
        // Our own pending entries once, from the start of our pending list, those past the delivery limit only once
        // their backoff is over (the claims take them later): a process that such an entry crashes must not apply it
        // again at each start. XCLAIM rather than XREADGROUP 0, which would hand out all of them.
        if (position.ownPendingFrom != null) {
            var page = group.ownPending(position.ownPendingFrom, settings.batchSize());
            var due = DeliveryLimit.due(page, limit::idleBeforeReclaim);
            takeOver(
                    due,
                    position.retry,
                    batch -> log.info(
                            "Re-processing {} entries left pending by this consumer",
                            batch.entries().size()));
            position.ownPendingFrom = page.size() < settings.batchSize()
                    ? null
                    : StreamEntryId.parse(page.getLast().getId()).next();
            return;
        }
        Instant now = clock.instant();
        if (!now.isBefore(position.nextClaim)) {
            claim(position.retry);
            position.nextClaim = now.plus(settings.claimInterval());
        }
        var batch =
                position.prefetched != null ? takePrefetched(position) : await(read(reader, settings.pollInterval()));
        if (!batch.entries().isEmpty()) {
            if (batch.full() && !position.retry.stopped() && !pause.holds()) {
                position.prefetched = read(reader, null);
            }
            apply(batch.entries(), false, position.retry);
        }
    }

    /**
     * Paused: the batch read ahead is this consumer's already (delivered to it), so it is applied first; then the loop
     * reads and claims nothing and looks again after {@link PauseSwitch#CHECK_INTERVAL}, or at once when woken.
     */
    private void hold(Position position) {
        if (position.prefetched != null) {
            var batch = takePrefetched(position);
            if (!batch.entries().isEmpty()) {
                apply(batch.entries(), false, position.retry);
            }
            return;
        }
        if (!parked) {
            log.info(
                    "Consumer {} of group {} paused{}; reading and claiming nothing until resumed",
                    settings.consumer(),
                    group.group(),
                    lastApplied == null ? "" : " after entry " + lastApplied);
            setParked(true);
        }
        pause.await();
    }

    private void setParked(boolean now) {
        if (parked != now) {
            synchronized (parking) {
                parked = now;
                parking.notifyAll();
            }
            if (!now) {
                log.info("Consumer {} of group {} resumed", settings.consumer(), group.group());
            }
        }
    }

    /** Applies a batch this consumer holds, and remembers its last entry as the position the status shows. */
    private void apply(List<StreamMessage<String, String>> entries, boolean redelivered, Retry retry) {
        batches.apply(group, entries, redelivered, retry);
        lastApplied = entries.getLast().getId();
    }

    private void failed(RuntimeException failure) {
        String description = failure.toString();
        lastFailure = new Failure(
                description.length() > 500 ? description.substring(0, 500) + "…" : description, clock.instant());
    }

    /** Starts reading a batch of new entries; the first read waits up to {@code block} for some. */
    private Reading read(StatefulRedisConnection<String, String> reader, @Nullable Duration block) {
        var fill = budget.fill();
        return new Reading(fill, group.readNew(reader.async(), fill, block));
    }

    /**
     * The batch a chain of reads filled, waited for as long as it moves: each read within the reader's timeout (the poll
     * interval and the command timeout), as a single command would be. A chain that stops moving is cancelled and fails.
     */
    private BatchBudget.Batch await(Reading reading) {
        Duration patience = settings.pollInterval().plus(settings.commandTimeout());
        int reads = reading.fill().reads();
        while (true) {
            try {
                return StreamGroup.await(reading.batch(), patience);
            } catch (RedisCommandTimeoutException e) {
                int now = reading.fill().reads();
                if (reading.batch().isDone() || now == reads) {
                    reading.batch().cancel(false);
                    throw e;
                }
                reads = now;
            }
        }
    }

    /**
     * Claims {@code due} entries and applies them batch by batch: XCLAIM after XCLAIM, each of as many ids as the batch
     * has room for, then the batch is announced and applied, and the next one filled. An id another consumer took
     * meanwhile (or deleted from the stream) is not returned; claiming stops with the consumer.
     */
    private void takeOver(DeliveryLimit.Due due, Retry retry, Consumer<BatchBudget.Batch> announce) {
        List<String> ids = due.ids();
        int next = 0;
        while (next < ids.size() && !retry.stopped()) {
            var fill = budget.fill();
            for (int room = fill.room(); room > 0 && next < ids.size(); room = fill.room()) {
                int end = Math.min(ids.size(), next + room);
                fill.add(group.claim(ids.subList(next, end), due.leastIdle()));
                next = end;
            }
            var batch = fill.batch();
            if (!batch.entries().isEmpty()) {
                announce.accept(batch);
                apply(batch.entries(), true, retry);
            }
        }
    }

    /**
     * Takes over entries left idle in the group (their consumer died, or this one before a restart): each once idle for
     * the claim idle time, or for its backoff past the delivery limit. XPENDING with IDLE and XCLAIM rather than
     * XAUTOCLAIM, which would take every entry idle beyond one threshold, the suspects before their time.
     */
    private void claim(Retry retry) {
        StreamEntryId from = FIRST;
        int backingOff = 0;
        for (int round = 0; round < CLAIM_ROUNDS && !retry.stopped(); round++) {
            var page = group.idlePending(settings.claimIdle(), from, settings.batchSize());
            var due = DeliveryLimit.due(page, limit::idleBeforeClaim);
            backingOff += page.size() - due.ids().size();
            takeOver(due, retry, batch -> {
                metrics.claimed(batch.entries().size());
                log.info(
                        "Claimed {} entries left idle for over {} ms in group {}",
                        batch.entries().size(),
                        settings.claimIdle().toMillis(),
                        group.group());
            });
            if (page.size() < settings.batchSize()) {
                break;
            }
            from = StreamEntryId.parse(page.getLast().getId()).next();
        }
        metrics.backingOff(backingOff);
    }

    /**
     * The entries of the batch requested ahead. Taken out of the position first: if waiting fails, the next step reads
     * afresh (entries Redis delivered meanwhile are this consumer's pending ones, claimed like any other).
     */
    private BatchBudget.Batch takePrefetched(Position position) {
        var reading = position.prefetched;
        position.prefetched = null;
        return reading == null ? BatchBudget.Batch.EMPTY : await(reading);
    }

    /** What a failed step means for the next one, said in the log and the metrics. */
    private void recover(Position position, RuntimeException failure) {
        if (StreamGroup.isNoGroup(failure)) {
            position.restart();
            metrics.groupRecreated();
            log.warn(
                    "Consumer group {} or stream {} vanished (NOGROUP): creating it again. Redis may have lost data;"
                            + " events it lost must be replayed from the write side.",
                    group.group(),
                    group.stream());
        } else if (failure instanceof RedisException) {
            metrics.redisRetry();
            log.warn("Cannot read stream {} ({}); retrying", group.stream(), failure.toString());
        } else {
            metrics.unexpectedRetry();
            log.error("Unexpected failure consuming stream {}; retrying", group.stream(), failure);
        }
    }
}
