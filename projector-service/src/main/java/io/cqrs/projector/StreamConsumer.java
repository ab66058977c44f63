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
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.models.stream.PendingMessage;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;
import org.springframework.util.backoff.BackOffExecution;
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

    private final String stream;
    private final String group;
    private final ProjectorProperties.Projector settings;
    private final RedisConnections connections;
    private final StreamGroup streamGroup;
    private final RecordProjection projection;
    private final ProjectorMetrics metrics;
    private final ExponentialBackOff backOff;
    private final Clock clock;

    private volatile boolean running;
    private volatile CountDownLatch stopSignal = new CountDownLatch(1);
    private volatile @Nullable Thread thread;

    StreamConsumer(
            ProjectorProperties properties,
            LazyRedisConnection redis,
            RedisConnections connections,
            RecordProjection projection,
            ProjectorMetrics metrics,
            Clock clock) {
        this.stream = properties.events().stream();
        this.group = properties.events().group();
        this.settings = properties.projector();
        this.connections = connections;
        this.streamGroup = new StreamGroup(redis, stream, group, settings.consumer());
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
        stopSignal = new CountDownLatch(1);
        // Assigned before it starts: the loop runs only while it is the consumer's current thread.
        Thread loop = Thread.ofPlatform()
                .name("projector-" + settings.consumer())
                .daemon(true)
                .unstarted(this::run);
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
        stopSignal.countDown();
        Thread loop = thread;
        if (loop == null) {
            return;
        }
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

    // A loop whose stop() gave up waiting for it must not carry on after a start() made a new one.
    private boolean active() {
        return running && Thread.currentThread() == thread;
    }

    private void run() {
        log.info("Consumer {} of group {} reading stream {}", settings.consumer(), group, stream);
        var position = new Position();
        @Nullable StatefulRedisConnection<String, String> reader = null;
        @Nullable BackOffExecution failures = null;
        try {
            while (active()) {
                try {
                    if (reader == null) {
                        // Lettuce drops replies that outlast the timeout, while their entries land in our pending list.
                        reader = connections.open(settings.pollInterval().plus(settings.commandTimeout()));
                    }
                    step(streamGroup, reader, position);
                    failures = null;
                } catch (StopRequested e) {
                    break;
                } catch (RuntimeException e) {
                    if (StreamGroup.isNoGroup(e)) {
                        position.restart();
                        metrics.groupRecreated();
                        log.warn(
                                "Consumer group {} or stream {} vanished (NOGROUP): creating it again. Redis may have"
                                        + " lost data; events it lost must be replayed from the write side.",
                                group,
                                stream);
                    } else if (e instanceof RedisException) {
                        metrics.redisRetry();
                        log.warn("Cannot read stream {} ({}); retrying", stream, e.toString());
                    } else {
                        metrics.unexpectedRetry();
                        log.error("Unexpected failure consuming stream {}; retrying", stream, e);
                    }
                    if (failures == null) {
                        failures = backOff.start();
                    }
                    pause(failures.nextBackOff());
                }
            }
            finishPrefetched(reader, position);
        } catch (StopRequested e) {
            // stop() was called while we waited
        } finally {
            if (reader != null) {
                reader.close();
            }
            log.info("Consumer {} of group {} stopped", settings.consumer(), group);
        }
    }

    /** Where the loop is: whether the group exists, how far its own pending entries are re-read, when to claim. */
    private static final class Position {
        boolean groupReady;

        @Nullable
        String ownPendingAfter = "0";

        Instant nextClaim = Instant.MIN;

        /** The next batch, requested while the current one was applied. */
        @Nullable
        RedisFuture<List<StreamMessage<String, String>>> prefetched;

        void restart() {
            groupReady = false;
            ownPendingAfter = "0";
            prefetched = null;
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
    private void finishPrefetched(@Nullable StatefulRedisConnection<String, String> reader, Position position) {
        if (reader == null || position.prefetched == null) {
            return;
        }
        try {
            var entries = takePrefetched(position);
            if (!entries.isEmpty()) {
                handle(streamGroup, entries, false);
            }
        } catch (RuntimeException e) {
            log.warn("Could not apply the batch read ahead before stopping; it stays pending: {}", e.toString());
        }
    }

    private void step(StreamGroup group, StatefulRedisConnection<String, String> connection, Position position) {
        RedisCommands<String, String> reader = connection.sync();
        if (!position.groupReady) {
            group.create();
            position.groupReady = true;
        }
        // Our own pending entries once, from the start of our pending list: a loop that kept reading "0" would keep
        // resetting their idle time and hide them from XAUTOCLAIM.
        if (position.ownPendingAfter != null) {
            var entries = group.readOwnPending(reader, position.ownPendingAfter, settings.batchSize());
            if (entries.isEmpty()) {
                position.ownPendingAfter = null;
            } else {
                log.info("Re-processing {} entries left pending by this consumer", entries.size());
                handle(group, entries, true);
                position.ownPendingAfter = entries.getLast().getId();
            }
            return;
        }
        Instant now = clock.instant();
        if (!now.isBefore(position.nextClaim)) {
            claim(group);
            position.nextClaim = now.plus(settings.claimInterval());
        }
        var entries = position.prefetched != null
                ? takePrefetched(position)
                : group.readNew(reader, settings.batchSize(), settings.pollInterval());
        if (!entries.isEmpty()) {
            if (entries.size() == settings.batchSize() && active()) {
                position.prefetched = group.readNewAhead(connection.async(), settings.batchSize());
            }
            handle(group, entries, false);
        }
    }

    private void claim(StreamGroup group) {
        String cursor = "0-0";
        for (int round = 0; round < CLAIM_ROUNDS && active(); round++) {
            var claimed = group.autoClaim(settings.claimIdle(), cursor, settings.batchSize());
            var entries = claimed.getMessages();
            if (!entries.isEmpty()) {
                metrics.claimed(entries.size());
                log.info(
                        "Claimed {} entries idle for over {} ms from other consumers of group {}",
                        entries.size(),
                        settings.claimIdle().toMillis(),
                        this.group);
                handle(group, entries, true);
            }
            cursor = claimed.getId();
            if ("0-0".equals(cursor)) {
                return;
            }
        }
    }

    private record Decoded(StreamMessage<String, String> entry, RecordEvent event) {}

    private record Rejected(StreamMessage<String, String> entry, Rejection rejection, long deliveries) {}

    private record Applied(Outcome outcome, List<Rejected> isolated) {}

    /**
     * One batch: decode; apply in one read-database transaction (retried until it commits); copy what cannot be
     * projected to the dead-letter stream; then one XACK for every entry.
     *
     * @param redelivered whether the entries may have been delivered before, so that their delivery counts matter
     */
    private void handle(StreamGroup group, List<StreamMessage<String, String>> entries, boolean redelivered) {
        long started = System.nanoTime();
        Map<String, Long> deliveries = redelivered ? deliveries(group, entries) : Map.of();
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
                log.warn("Pending entry {} is no longer in stream {}; acknowledging it", entry.getId(), stream);
            } else if (delivered > settings.maxDeliveries()) {
                rejected.add(new Rejected(
                        entry, Rejection.tooManyDeliveries(delivered, settings.maxDeliveries()), delivered));
            } else {
                try {
                    valid.add(new Decoded(entry, EventCodec.decode(entry.getBody())));
                } catch (MalformedEventException e) {
                    rejected.add(new Rejected(entry, Rejection.malformed(e), delivered));
                }
            }
        }
        StreamEntryId lastId = last;
        int decodeRejected = rejected.size();
        Applied applied = valid.isEmpty() && rejected.isEmpty()
                ? new Applied(Outcome.NOTHING, List.of())
                : withReadDb(group, ids, () -> apply(valid, decodeRejected, lastId, deliveries));
        Instant committedAt = clock.instant();
        rejected.addAll(applied.isolated());
        for (Rejected r : rejected) {
            log.warn(
                    "Dead-lettering entry {} of stream {} after {} deliveries: {} ({})",
                    r.entry().getId(),
                    stream,
                    r.deliveries(),
                    r.rejection().reason(),
                    r.rejection().problem());
            withRedis(group, ids, () -> group.deadLetter(r.entry(), r.rejection(), r.deliveries()));
        }
        withRedis(group, ids, () -> {
            group.ack(ids);
            return ids.size();
        });
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        metrics.batch(entries.size(), took);
        metrics.applied(applied.outcome(), committedAt);
        metrics.deadLettered(rejected.size());
        log.info(
                "Projected {} entries up to {}: {} applied, {} stale, {} dead-lettered in {} ms",
                entries.size(),
                lastId,
                applied.outcome().applied(),
                applied.outcome().stale(),
                rejected.size(),
                took.toMillis());
    }

    /** Delivery counts of redelivered entries, which include the delivery that just handed them to us. */
    private Map<String, Long> deliveries(StreamGroup group, List<StreamMessage<String, String>> entries) {
        var counts = new HashMap<String, Long>();
        for (PendingMessage pending :
                group.pending(entries.getFirst().getId(), entries.getLast().getId(), entries.size())) {
            counts.put(pending.getId(), pending.getRedeliveryCount());
        }
        return counts;
    }

    /**
     * Applies the batch; if the read database rejects its data (not merely fails), isolates the entries at fault,
     * applies the rest, and returns those entries for the dead-letter stream.
     */
    private Applied apply(List<Decoded> valid, int deadLettered, StreamEntryId lastId, Map<String, Long> deliveries) {
        try {
            return new Applied(projection.apply(events(valid), deadLettered, lastId), List.of());
        } catch (RuntimeException e) {
            if (!RecordProjection.rejectsData(e)) {
                throw e;
            }
            log.warn(
                    "The read database rejected a batch of {} events ({}); isolating the entries at fault",
                    valid.size(),
                    Rejection.applyFailed(e).reason());
            var isolated = PoisonIsolation.isolate(
                    valid, e, part -> projection.apply(events(part), 0, lastId), RecordProjection::rejectsData);
            var rejected = isolated.rejected().stream()
                    .map(r -> new Rejected(
                            r.item().entry(),
                            Rejection.applyFailed(r.failure()),
                            deliveries.getOrDefault(r.item().entry().getId(), 1L)))
                    .toList();
            Outcome outcome = isolated.applied().stream().reduce(Outcome.NOTHING, Outcome::plus);
            outcome = outcome.plus(projection.apply(List.of(), deadLettered + rejected.size(), lastId));
            return new Applied(outcome, rejected);
        }
    }

    private static List<RecordEvent> events(List<Decoded> decoded) {
        return decoded.stream().map(Decoded::event).toList();
    }

    /**
     * Runs {@code attempt} against the read database until it succeeds; in between, backs off and keeps the batch's
     * entries claimed by this consumer (their idle time reset, no delivery counted) so nobody else takes them.
     */
    private <T> T withReadDb(StreamGroup group, List<String> ids, Supplier<T> attempt) {
        @Nullable BackOffExecution failures = null;
        while (true) {
            try {
                return attempt.get();
            } catch (RuntimeException e) {
                if (!active()) {
                    throw new StopRequested();
                }
                metrics.readDbRetry();
                log.warn(
                        "Cannot apply {} entries to the read database ({}); retrying, nothing acknowledged",
                        ids.size(),
                        e.toString());
                if (failures == null) {
                    failures = backOff.start();
                }
                pause(failures.nextBackOff());
                try {
                    group.touch(ids);
                } catch (RedisException touchFailure) {
                    log.debug("Cannot refresh the claim on {} entries: {}", ids.size(), touchFailure.toString());
                }
            }
        }
    }

    /**
     * Runs a Redis command after the batch committed until it succeeds, so that the commit is not repeated for a
     * failed XACK or dead-letter copy; a vanished group ends the batch (its acknowledgements went with it).
     */
    private void withRedis(StreamGroup group, List<String> ids, Supplier<?> attempt) {
        @Nullable BackOffExecution failures = null;
        while (true) {
            try {
                attempt.get();
                return;
            } catch (RuntimeException e) {
                if (StreamGroup.isNoGroup(e)) {
                    throw e;
                }
                if (!active()) {
                    throw new StopRequested();
                }
                metrics.redisRetry();
                log.warn("Cannot finish {} entries on stream {} ({}); retrying", ids.size(), stream, e.toString());
                if (failures == null) {
                    failures = backOff.start();
                }
                pause(failures.nextBackOff());
            }
        }
    }

    private void pause(long millis) {
        try {
            if (stopSignal.await(millis, TimeUnit.MILLISECONDS) || !active()) {
                throw new StopRequested();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StopRequested();
        }
    }

    /** Unwinds the loop when {@link #stop()} is called during a pause; the entries in hand stay pending. */
    private static final class StopRequested extends RuntimeException {
        StopRequested() {
            super(null, null, false, false);
        }
    }
}
