package io.cqrs.projector;

import io.cqrs.events.EventCodec;
import io.cqrs.events.MalformedEventException;
import io.cqrs.events.RecordEvent;
import io.cqrs.projector.RecordProjection.Outcome;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.RedisConnections;
import io.cqrs.stream.StreamEntryId;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.models.stream.PendingMessage;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;
import org.springframework.util.backoff.ExponentialBackOff;

/**
 * The consumer loop: reads the stream as one consumer of the group, decodes, hands each batch to the
 * {@link RecordProjection}, dead-letters what cannot be projected, and acknowledges after the commit.
 *
 * <p>One thread of its own with its own blocking connection. At start it creates the group if needed and re-processes
 * its own pending entries once, then reads new ones; between reads it claims entries other consumers left idle. When a
 * read returns a full batch (a backlog), the next batch is requested before this one is applied, so that Redis and
 * the client decode it while the read database applies this one; a stop applies that batch too before it ends. Redis
 * or the read database failing means a pause with exponential backoff and another try, never a skipped entry: an entry
 * leaves the pending list only once the read model holds it or the dead-letter stream does.
 */
@Component
class StreamConsumer implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(StreamConsumer.class);

    // XAUTOCLAIM rounds per claim step, so that a large backlog of abandoned entries does not starve new ones.
    private static final int CLAIM_ROUNDS = 10;

    private final ProjectorProperties.Projector settings;
    private final StreamGroup group;
    private final RedisConnections connections;
    private final RecordProjection projection;
    private final ProjectorMetrics metrics;
    private final ExponentialBackOff backOff;
    private final Clock clock;

    private volatile boolean running;
    private volatile @Nullable Thread thread;
    private volatile @Nullable Retry retry;

    StreamConsumer(
            ProjectorProperties properties,
            LazyRedisConnection redis,
            RedisConnections connections,
            RecordProjection projection,
            ProjectorMetrics metrics,
            Clock clock) {
        this.settings = properties.projector();
        this.group = new StreamGroup(
                redis, properties.events().stream(), properties.events().group(), settings.consumer());
        this.connections = connections;
        this.projection = projection;
        this.metrics = metrics;
        this.clock = clock;
        this.backOff = new ExponentialBackOff(settings.retryBackoff().toMillis(), 2.0);
        this.backOff.setMaxInterval(settings.retryMaxBackoff().toMillis());
    }

    String consumer() {
        return settings.consumer();
    }

    @Override
    public synchronized void start() {
        if (running) {
            return;
        }
        running = true;
        // Each run has its own stop signal: a loop that stop() gave up waiting for cannot carry on in a new run.
        var run = new Retry(backOff);
        Thread loop = Thread.ofPlatform()
                .name("projector-" + settings.consumer())
                .daemon(true)
                .unstarted(() -> run(new Position(run)));
        retry = run;
        thread = loop;
        loop.start();
    }

    /**
     * Lets the current batch finish (or abandons its retries: its entries stay pending and are processed again), waits
     * for the blocking read to return, and closes the reader connection. After a read, a command timeout and a margin
     * it stops waiting and interrupts the loop, so that a shutdown never hangs on it.
     */
    @Override
    public synchronized void stop() {
        if (!running) {
            return;
        }
        running = false;
        Thread loop = thread;
        Retry run = retry;
        if (loop == null || run == null) {
            return;
        }
        run.stop();
        Duration patience =
                settings.pollInterval().plus(settings.commandTimeout()).plusSeconds(5);
        try {
            if (!loop.join(patience)) {
                log.warn("Consumer {} did not stop within {}; interrupting it", settings.consumer(), patience);
                loop.interrupt();
                loop.join(settings.commandTimeout());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /**
     * Where one run of the loop is: its reader connection, whether the group exists, how far its own pending entries
     * are re-read, when to claim next, and the batch requested ahead.
     */
    private static final class Position {
        final Retry retry;

        @Nullable
        StatefulRedisConnection<String, String> reader;

        boolean groupReady;

        @Nullable
        String ownPendingAfter = "0";

        Instant nextClaim = Instant.MIN;

        @Nullable
        RedisFuture<List<StreamMessage<String, String>>> prefetched;

        Position(Retry retry) {
            this.retry = retry;
        }

        void restart() {
            groupReady = false;
            ownPendingAfter = "0";
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
            finishPrefetched(position);
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
        // Our own pending entries once, from the start of our pending list: a loop that kept reading "0" would keep
        // resetting their idle time and hide them from XAUTOCLAIM.
        if (position.ownPendingAfter != null) {
            var entries = group.readOwnPending(reader.sync(), position.ownPendingAfter, settings.batchSize());
            if (entries.isEmpty()) {
                position.ownPendingAfter = null;
            } else {
                log.info("Re-processing {} entries left pending by this consumer", entries.size());
                handle(entries, true, position.retry);
                position.ownPendingAfter = entries.getLast().getId();
            }
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
            handle(entries, false, position.retry);
        }
    }

    private void claim(Retry retry) {
        String cursor = "0-0";
        for (int round = 0; round < CLAIM_ROUNDS && !retry.stopped(); round++) {
            var claimed = group.autoClaim(settings.claimIdle(), cursor, settings.batchSize());
            var entries = claimed.getMessages();
            if (!entries.isEmpty()) {
                metrics.claimed(entries.size());
                log.info(
                        "Claimed {} entries idle for over {} ms from other consumers of group {}",
                        entries.size(),
                        settings.claimIdle().toMillis(),
                        group.group());
                handle(entries, true, retry);
            }
            cursor = claimed.getId();
            if ("0-0".equals(cursor)) {
                return;
            }
        }
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

    // A stop between two batches of a backlog: the batch already requested is delivered to this consumer, so it is
    // applied now rather than left pending until another consumer claims it.
    private void finishPrefetched(Position position) {
        if (position.reader == null || position.prefetched == null) {
            return;
        }
        try {
            var entries = takePrefetched(position);
            if (!entries.isEmpty()) {
                handle(entries, false, position.retry);
            }
        } catch (RuntimeException e) {
            log.warn("Could not apply the batch read ahead before stopping; it stays pending: {}", e.toString());
        }
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

    private record Decoded(StreamMessage<String, String> entry, RecordEvent event, long deliveries) {}

    private record Rejected(StreamMessage<String, String> entry, Rejection rejection, long deliveries) {}

    /** A batch sorted out: every id (for the XACK), the highest one, the events to apply, the entries to dead-letter. */
    private record Sorted(List<String> ids, StreamEntryId lastId, List<Decoded> valid, List<Rejected> rejected) {}

    private record Applied(Outcome outcome, List<Rejected> isolated) {}

    /**
     * One batch: decode; apply in one read-database transaction (retried until it commits); copy what cannot be
     * projected to the dead-letter stream; then one XACK for every entry.
     *
     * @param redelivered whether the entries may have been delivered before, so that their delivery counts matter
     * @param retry how failures of Redis and the read database are retried, until the consumer stops
     */
    private void handle(List<StreamMessage<String, String>> entries, boolean redelivered, Retry retry) {
        long started = System.nanoTime();
        Sorted batch = sort(group, entries, redelivered ? deliveries(group, entries) : Map.of());
        Applied applied = batch.valid().isEmpty() && batch.rejected().isEmpty()
                ? new Applied(Outcome.NOTHING, List.of())
                : retry.get(
                        () -> apply(batch),
                        failure -> false,
                        failure -> {
                            metrics.readDbRetry();
                            log.warn(
                                    "Cannot apply {} entries to the read database ({}); retrying, nothing acknowledged",
                                    entries.size(),
                                    failure.toString());
                        },
                        () -> keepClaimed(group, batch.ids()));
        Instant committedAt = clock.instant();
        var rejected = new ArrayList<>(batch.rejected());
        rejected.addAll(applied.isolated());
        for (Rejected r : rejected) {
            log.warn(
                    "Dead-lettering entry {} of stream {} after {} deliveries: {} ({})",
                    r.entry().getId(),
                    group.stream(),
                    r.deliveries(),
                    r.rejection().reason(),
                    r.rejection().problem());
            afterCommit(group, batch.ids(), retry, () -> group.deadLetter(r.entry(), r.rejection(), r.deliveries()));
        }
        afterCommit(group, batch.ids(), retry, () -> group.ack(batch.ids()));
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        metrics.batch(entries.size(), took);
        metrics.applied(applied.outcome(), committedAt);
        metrics.deadLettered(rejected.size());
        log.info(
                "Projected {} entries up to {}: {} applied, {} stale, {} dead-lettered in {} ms",
                entries.size(),
                batch.lastId(),
                applied.outcome().applied(),
                applied.outcome().stale(),
                rejected.size(),
                took.toMillis());
    }

    /** Decodes the entries and sets aside those gone from the stream, delivered too often, or malformed. */
    private Sorted sort(StreamGroup group, List<StreamMessage<String, String>> entries, Map<String, Long> deliveries) {
        var ids = new ArrayList<String>(entries.size());
        var valid = new ArrayList<Decoded>(entries.size());
        var rejected = new ArrayList<Rejected>();
        StreamEntryId last = StreamEntryId.parse(entries.getFirst().getId());
        for (var entry : entries) {
            ids.add(entry.getId());
            StreamEntryId id = StreamEntryId.parse(entry.getId());
            last = id.compareTo(last) > 0 ? id : last;
            long delivered = deliveries.getOrDefault(entry.getId(), 1L);
            if (entry.getBody() == null || entry.getBody().isEmpty()) {
                // Deleted from the stream while pending (XDEL, or a trim that should not have happened): nothing left.
                log.warn("Pending entry {} is no longer in stream {}; acknowledging it", entry.getId(), group.stream());
            } else if (delivered > settings.maxDeliveries()) {
                rejected.add(new Rejected(
                        entry, Rejection.tooManyDeliveries(delivered, settings.maxDeliveries()), delivered));
            } else {
                try {
                    valid.add(new Decoded(entry, EventCodec.decode(entry.getBody()), delivered));
                } catch (MalformedEventException e) {
                    rejected.add(new Rejected(entry, Rejection.malformed(e), delivered));
                }
            }
        }
        return new Sorted(ids, last, valid, rejected);
    }

    /** Delivery counts of redelivered entries, which include the delivery that just handed them to us. */
    private static Map<String, Long> deliveries(StreamGroup group, List<StreamMessage<String, String>> entries) {
        var counts = new HashMap<String, Long>();
        for (PendingMessage pending :
                group.pending(entries.getFirst().getId(), entries.getLast().getId(), entries.size())) {
            counts.put(pending.getId(), pending.getRedeliveryCount());
        }
        return counts;
    }

    /**
     * Applies the batch in one transaction, counting the entries set aside as dead-lettered; if the read database
     * rejects its data (not merely fails), isolates the entries at fault, applies the rest, and counts those too.
     */
    private Applied apply(Sorted batch) {
        try {
            return new Applied(
                    projection.apply(events(batch.valid()), batch.rejected().size(), batch.lastId()), List.of());
        } catch (RuntimeException e) {
            if (!RecordProjection.rejectsData(e)) {
                throw e;
            }
            log.warn(
                    "The read database rejected a batch of {} events ({}); isolating the entries at fault",
                    batch.valid().size(),
                    Rejection.applyFailed(e).reason());
            var isolated = PoisonIsolation.isolate(
                    batch.valid(),
                    e,
                    part -> projection.apply(events(part), 0, batch.lastId()),
                    RecordProjection::rejectsData);
            var rejected = isolated.rejected().stream()
                    .map(r -> new Rejected(
                            r.item().entry(),
                            Rejection.applyFailed(r.failure()),
                            r.item().deliveries()))
                    .toList();
            Outcome outcome = isolated.applied().stream().reduce(Outcome.NOTHING, Outcome::plus);
            outcome = outcome.plus(
                    projection.apply(List.of(), batch.rejected().size() + rejected.size(), batch.lastId()));
            return new Applied(outcome, rejected);
        }
    }

    /**
     * Resets the idle time of the batch's entries between attempts, so that other consumers do not claim them while the
     * read database is away and push them towards the dead-letter limit.
     */
    private static void keepClaimed(StreamGroup group, List<String> ids) {
        try {
            group.touch(ids);
        } catch (RedisException e) {
            log.debug("Cannot refresh the claim on {} entries: {}", ids.size(), e.toString());
        }
    }

    /**
     * Runs a Redis command after the batch committed until it works, so that the commit is not repeated for a failed
     * XACK or dead-letter copy; a vanished group ends the batch (its acknowledgements went with it).
     */
    private void afterCommit(StreamGroup group, List<String> ids, Retry retry, Runnable command) {
        retry.run(command, StreamGroup::isNoGroup, failure -> {
            metrics.redisRetry();
            log.warn(
                    "Cannot finish {} entries on stream {} ({}); retrying",
                    ids.size(),
                    group.stream(),
                    failure.toString());
        });
    }

    private static List<RecordEvent> events(List<Decoded> decoded) {
        return decoded.stream().map(Decoded::event).toList();
    }
}
