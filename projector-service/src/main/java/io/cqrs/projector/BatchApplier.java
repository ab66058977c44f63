package io.cqrs.projector;

import io.cqrs.events.EventCodec;
import io.cqrs.events.MalformedEventException;
import io.cqrs.events.RecordEvent;
import io.cqrs.projector.RecordProjection.Outcome;
import io.cqrs.stream.StreamEntryId;
import io.lettuce.core.RedisException;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.models.stream.PendingMessage;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Applies one batch of stream entries, start to finish: decodes them; sets aside those gone from the stream, delivered
 * too often or malformed; applies the rest to the read model in one transaction (retried until it commits; entries the
 * database rejects are isolated by {@link PoisonIsolation}); copies what cannot be projected to the dead-letter stream;
 * acknowledges every entry with one {@code XACK}; records the metrics and one log line. It returns when the batch is
 * finished. When it throws instead ({@link Retry.Stopped} if the consumer stops while it waits, a Redis failure while
 * it reads delivery counts, a {@code NOGROUP} answer after the commit), the entries not acknowledged stay pending and
 * are processed again.
 */
@Component
class BatchApplier {

    private static final Logger log = LoggerFactory.getLogger(BatchApplier.class);

    private final int maxDeliveries;
    private final RecordProjection projection;
    private final ProjectorMetrics metrics;
    private final Clock clock;

    BatchApplier(ProjectorProperties properties, RecordProjection projection, ProjectorMetrics metrics, Clock clock) {
        this.maxDeliveries = properties.projector().maxDeliveries();
        this.projection = projection;
        this.metrics = metrics;
        this.clock = clock;
    }

    private record Decoded(StreamMessage<String, String> entry, RecordEvent event, long deliveries) {}

    private record Rejected(StreamMessage<String, String> entry, Rejection rejection, long deliveries) {}

    /** A batch sorted out: every id (for the XACK), the highest, the events to apply, the entries to dead-letter. */
    private record Sorted(List<String> ids, StreamEntryId lastId, List<Decoded> valid, List<Rejected> rejected) {}

    private record Applied(Outcome outcome, List<Rejected> isolated) {}

    /**
     * Applies {@code entries}, which {@code group}'s consumer holds pending.
     *
     * @param redelivered whether the entries may have been delivered before, so that their delivery counts matter
     * @param retry how failures of Redis and the read database are retried, until the consumer stops
     */
    void apply(StreamGroup group, List<StreamMessage<String, String>> entries, boolean redelivered, Retry retry) {
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
            } else if (delivered > maxDeliveries) {
                rejected.add(new Rejected(entry, Rejection.tooManyDeliveries(delivered, maxDeliveries), delivered));
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
     * XACK or dead-letter copy; a {@code NOGROUP} answer ends the batch (the group and its pending entries are gone).
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
