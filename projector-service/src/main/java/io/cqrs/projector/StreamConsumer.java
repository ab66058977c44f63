package io.cqrs.projector;

import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.RedisConnections;
import io.cqrs.stream.StreamEntryId;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisException;
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
 */
@Component
class StreamConsumer implements SmartLifecycle {

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

    // The thread of the current run and its stop signal; null while stopped.
    private volatile @Nullable Run current;

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
    }

    @Override
    public synchronized void start() {
        if (current != null) {
            return;
        }
        // Each run has its own stop signal: a loop that stop() gave up waiting for cannot carry on in a new run.
        var retry = new Retry(backOff);
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
                batches.apply(group, batch.entries(), false, position.retry);
            }
        } catch (RuntimeException e) {
            log.warn("Could not apply the batch read ahead before stopping; it stays pending: {}", e.toString());
        } finally {
            if (position.reader != null) {
                position.reader.close();
            }
            log.info("Consumer {} of group {} stopped", settings.consumer(), group.group());
        }
    }

    private void step(Position position) {
        if (position.reader == null) {
            // Lettuce drops replies that outlast the timeout, while their entries land in our pending list.
            position.reader = connections.open(settings.pollInterval().plus(settings.commandTimeout()));
        }
        var reader = position.reader;
        if (!position.groupReady) {
            group.create();
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
            if (batch.full() && !position.retry.stopped()) {
                position.prefetched = read(reader, null);
            }
            batches.apply(group, batch.entries(), false, position.retry);
        }
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
                batches.apply(group, batch.entries(), true, retry);
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
