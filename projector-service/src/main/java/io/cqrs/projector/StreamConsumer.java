package io.cqrs.projector;

import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.RedisConnections;
import io.cqrs.stream.StreamEntryId;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
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
 * the delivery limit only after their backoff ({@link DeliveryLimit}). When a read returns a full batch (a backlog),
 * the next batch is requested before this one is applied, so that Redis and the client decode it while the read
 * database applies this one; a stop applies that batch too before it ends. Redis or the read database failing means a
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
        private @Nullable RedisFuture<List<StreamMessage<String, String>>> prefetched;

        Position(Retry retry) {
            this.retry = retry;
        }

        void restart() {
            groupReady = false;
            ownPendingFrom = FIRST;
            prefetched = null;
        }
    }

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
            var entries = takePrefetched(position);
            if (!entries.isEmpty()) {
                batches.apply(group, entries, false, position.retry);
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
            var entries = group.claim(due.ids(), due.leastIdle());
            if (!entries.isEmpty()) {
                log.info("Re-processing {} entries left pending by this consumer", entries.size());
                batches.apply(group, entries, true, position.retry);
            }
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
        var entries = position.prefetched != null
                ? takePrefetched(position)
                : group.readNew(reader.sync(), settings.batchSize(), settings.pollInterval());
        if (!entries.isEmpty()) {
            if (entries.size() == settings.batchSize() && !position.retry.stopped()) {
                position.prefetched = group.readNewAhead(reader.async(), settings.batchSize());
            }
            batches.apply(group, entries, false, position.retry);
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
            var entries = group.claim(due.ids(), due.leastIdle());
            if (!entries.isEmpty()) {
                metrics.claimed(entries.size());
                log.info(
                        "Claimed {} entries left idle for over {} ms in group {}",
                        entries.size(),
                        settings.claimIdle().toMillis(),
                        group.group());
                batches.apply(group, entries, true, retry);
            }
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
    private List<StreamMessage<String, String>> takePrefetched(Position position) {
        var future = position.prefetched;
        position.prefetched = null;
        return future == null ? List.of() : StreamGroup.await(future, settings.commandTimeout());
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
