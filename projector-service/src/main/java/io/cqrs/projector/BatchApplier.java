package io.cqrs.projector;

import io.cqrs.events.EventCodec;
import io.cqrs.events.MalformedEventException;
import io.cqrs.events.RecordEvent;
import io.cqrs.projector.RecordProjection.Outcome;
import io.cqrs.stream.StreamEntryId;
import io.cqrs.tracing.TraceContexts;
import io.lettuce.core.RedisException;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.models.stream.PendingMessage;
import io.micrometer.tracing.Span;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;
import org.springframework.stereotype.Component;

/**
 * Applies one batch of stream entries, start to finish: decodes them; sets aside those gone from the stream or
 * malformed, and those delivered more often than the limit (suspects, see {@link DeliveryLimit}); applies the rest to
 * the read model in one transaction (retried until it commits; entries the database rejects are isolated by
 * {@link PoisonIsolation}); copies what cannot be projected to the dead-letter stream; acknowledges those entries with
 * one {@code XACK}; records the metrics and tells the {@link ProgressLog}. Then each suspect the same way, alone, in a
 * batch of its own. It returns when the batch is finished. When it throws instead ({@link Retry.Stopped} if the
 * consumer stops while it waits, a Redis failure while it reads delivery counts, a {@code NOGROUP} answer after the
 * commit), the entries not acknowledged stay pending and are processed again.
 */
@Component
class BatchApplier {

    private static final Logger log = LoggerFactory.getLogger(BatchApplier.class);

    // MDC fields of the log lines about one entry: set only where a line is about one (a suspect, a dead letter), never
    // per event of a batch, which is applied as one statement and logged as one line.
    private static final String STREAM_ID = "stream_id";
    private static final String KEY = "key";
    private static final String COMMAND_ID = "command_id";

    private final DeliveryLimit limit;
    private final int maxSchema;
    private final RecordProjection projection;
    private final ProjectorMetrics metrics;
    private final Clock clock;
    private final TraceContexts traces;
    private final ProgressLog progress = new ProgressLog();

    BatchApplier(
            ProjectorProperties properties,
            RecordProjection projection,
            ProjectorMetrics metrics,
            Clock clock,
            TraceContexts traces) {
        this.limit = DeliveryLimit.of(properties.projector());
        this.maxSchema = properties.projector().maxSchema();
        this.projection = projection;
        this.metrics = metrics;
        this.clock = clock;
        this.traces = traces;
    }

    private record Decoded(StreamMessage<String, String> entry, RecordEvent event, long deliveries) {}

    private record Rejected(StreamMessage<String, String> entry, Rejection rejection, long deliveries) {}

    /**
     * A batch sorted out: every id to acknowledge together (those of the suspects aside), the highest of them, the
     * estimated size of their entries, the events to apply, the entries to dead-letter, and the suspects, each to be
     * applied on its own.
     */
    private record Sorted(
            List<String> ids,
            StreamEntryId lastId,
            long bytes,
            List<Decoded> valid,
            List<Rejected> rejected,
            List<Decoded> suspects) {

        /** A suspect as a batch of its own. */
        static Sorted alone(Decoded suspect) {
            String id = suspect.entry().getId();
            return new Sorted(
                    List.of(id),
                    StreamEntryId.parse(id),
                    BatchBudget.sizeOf(suspect.entry()),
                    List.of(suspect),
                    List.of(),
                    List.of());
        }
    }

    private record Applied(Outcome outcome, List<Rejected> isolated) {}

    /**
     * Applies {@code entries}, which {@code group}'s consumer holds pending.
     *
     * @param redelivered whether the entries may have been delivered before, so that their delivery counts matter
     * @param retry how failures of Redis and the read database are retried, until the consumer stops
     */
    void apply(StreamGroup group, List<StreamMessage<String, String>> entries, boolean redelivered, Retry retry) {
        long started = System.nanoTime();
        if (!redelivered) {
            metrics.taken(entries, clock.instant());
        }
        Sorted batch = sort(group, entries, redelivered ? deliveries(group, entries) : Map.of());
        // Every entry not yet acknowledged stays claimed while the read database is away, the suspects' too.
        var held = new ArrayList<String>(entries.size());
        held.addAll(batch.ids());
        batch.suspects().forEach(suspect -> held.add(suspect.entry().getId()));
        if (!batch.ids().isEmpty()) {
            finish(group, batch, held, retry, started);
            held.subList(0, batch.ids().size()).clear();
        }
        // The others are acknowledged by now: should a suspect crash the process, it takes nobody else with it.
        for (Decoded suspect : batch.suspects()) {
            metrics.suspect();
            // Its stream id, key and command id in every log line while it is applied alone (structured logs: fields).
            MDC.put(STREAM_ID, suspect.entry().getId());
            MDC.put(KEY, suspect.event().key());
            MDC.put(COMMAND_ID, Long.toString(suspect.event().commandId()));
            try {
                log.warn(
                        "Entry {} of stream {} was delivered {} times without an acknowledgement (limit {}); applying it"
                                + " alone",
                        suspect.entry().getId(),
                        group.stream(),
                        suspect.deliveries(),
                        limit.maxDeliveries());
                finish(group, Sorted.alone(suspect), held, retry, System.nanoTime());
            } finally {
                MDC.remove(STREAM_ID);
                MDC.remove(KEY);
                MDC.remove(COMMAND_ID);
            }
            held.removeFirst();
        }
    }

    /**
     * Applies a sorted batch (retried until it commits, keeping {@code held} claimed meanwhile), copies its rejected
     * entries to the dead-letter stream, acknowledges its ids, and records the metrics and the log line.
     */
    private void finish(StreamGroup group, Sorted batch, List<String> held, Retry retry, long started) {
        Applied applied = batch.valid().isEmpty() && batch.rejected().isEmpty()
                ? new Applied(Outcome.NOTHING, List.of())
                : retry.get(
                        () -> apply(batch),
                        failure -> false,
                        failure -> {
                            metrics.readDbRetry();
                            log.warn(
                                    "Cannot apply {} entries to the read database ({}); retrying, nothing acknowledged",
                                    batch.ids().size(),
                                    failure.toString());
                        },
                        () -> keepClaimed(group, held));
        metrics.transaction(batch.valid().size(), System.nanoTime() - started);
        Instant committedAt = clock.instant();
        var rejected = new ArrayList<>(batch.rejected());
        rejected.addAll(applied.isolated());
        for (Rejected r : rejected) {
            try (var inLogs = MDC.putCloseable(STREAM_ID, r.entry().getId())) {
                log.warn(
                        "Dead-lettering entry {} of stream {} after {} deliveries: {} ({})",
                        r.entry().getId(),
                        group.stream(),
                        r.deliveries(),
                        r.rejection().reason(),
                        r.rejection().problem());
                afterCommit(
                        group, batch.ids(), retry, () -> group.deadLetter(r.entry(), r.rejection(), r.deliveries()));
            }
        }
        afterCommit(group, batch.ids(), retry, () -> group.ack(batch.ids()));
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        if (traces.enabled()) {
            trace(group, batch, took);
        }
        metrics.batch(batch.ids().size(), batch.bytes(), took);
        metrics.applied(applied.outcome(), committedAt);
        metrics.deadLettered(rejected.size());
        progress.batch(
                batch.ids().size(),
                batch.bytes(),
                batch.lastId(),
                applied.outcome().applied(),
                applied.outcome().stale(),
                rejected.size(),
                took.toNanos());
    }

    /** Logs what was projected since the progress log's last line (the consumer stops). */
    void logProgress() {
        progress.flush();
    }

    /**
     * Decodes the entries and sets aside those gone from the stream or malformed (whatever their delivery count), and the
     * suspects: valid events delivered more often than the limit.
     */
    private Sorted sort(StreamGroup group, List<StreamMessage<String, String>> entries, Map<String, Long> deliveries) {
        var ids = new ArrayList<String>(entries.size());
        var valid = new ArrayList<Decoded>(entries.size());
        var rejected = new ArrayList<Rejected>();
        var suspects = new ArrayList<Decoded>();
        long bytes = 0;
        @Nullable StreamEntryId last = null;
        for (var entry : entries) {
            long delivered = deliveries.getOrDefault(entry.getId(), 1L);
            if (entry.getBody() == null || entry.getBody().isEmpty()) {
                // Deleted from the stream while pending (XDEL, or a trim that should not have happened): nothing left.
                log.warn("Pending entry {} is no longer in stream {}; acknowledging it", entry.getId(), group.stream());
            } else {
                try {
                    var decoded = new Decoded(entry, EventCodec.decode(entry.getBody(), maxSchema), delivered);
                    if (limit.suspect(delivered)) {
                        suspects.add(decoded);
                        continue; // acknowledged on its own, after the others
                    }
                    valid.add(decoded);
                } catch (MalformedEventException e) {
                    rejected.add(new Rejected(entry, Rejection.malformed(e), delivered));
                }
            }
            ids.add(entry.getId());
            bytes += BatchBudget.sizeOf(entry);
            StreamEntryId id = StreamEntryId.parse(entry.getId());
            last = last == null || id.compareTo(last) > 0 ? id : last;
        }
        return new Sorted(
                ids,
                last == null ? StreamEntryId.parse(entries.getFirst().getId()) : last,
                bytes,
                valid,
                rejected,
                suspects);
    }

    /**
     * Delivery counts of redelivered entries, which include the delivery that just handed them to us. Other pending
     * entries of this consumer may lie between the batch's ids (suspects waiting for their backoff, say), so the range is
     * read page by page until every id of the batch is found.
     */
    private static Map<String, Long> deliveries(StreamGroup group, List<StreamMessage<String, String>> entries) {
        var wanted = new HashSet<String>();
        StreamEntryId first = StreamEntryId.parse(entries.getFirst().getId());
        StreamEntryId last = first;
        for (var entry : entries) {
            wanted.add(entry.getId());
            StreamEntryId id = StreamEntryId.parse(entry.getId());
            first = id.compareTo(first) < 0 ? id : first;
            last = id.compareTo(last) > 0 ? id : last;
        }
        var counts = new HashMap<String, Long>();
        @Nullable StreamEntryId from = first;
        while (from != null && counts.size() < wanted.size()) {
            var page = group.pending(from.toString(), last.toString(), entries.size());
            for (PendingMessage pending : page) {
                if (wanted.contains(pending.getId())) {
                    counts.put(pending.getId(), pending.getRedeliveryCount());
                }
            }
            from = page.size() < entries.size()
                    ? null
                    : StreamEntryId.parse(page.getLast().getId()).next();
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
     * read database is away and push them past the delivery limit.
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

    /**
     * One span per event of the batch that carries the trace context of its write, a child of the write's span: from the
     * batch's start to its acknowledgement, the time the projection of that event took.
     */
    private void trace(StreamGroup group, Sorted batch, Duration took) {
        Instant now = clock.instant();
        long end = now.getEpochSecond() * 1_000_000_000L + now.getNano();
        long start = end - took.toNanos();
        for (Decoded decoded : batch.valid()) {
            String traceparent = EventCodec.traceparent(decoded.entry().getBody());
            if (traceparent == null) {
                continue;
            }
            RecordEvent event = decoded.event();
            var span = traces.childOf(traceparent, "project " + EventCodec.type(event), start);
            if (span != null) {
                span.kind(Span.Kind.CONSUMER)
                        .tag("cqrs.key", event.key())
                        .tag("cqrs.command_id", event.commandId())
                        .tag("cqrs.version", event.version())
                        .tag("cqrs.stream", group.stream())
                        .tag("cqrs.stream_id", decoded.entry().getId())
                        .tag("cqrs.batch.entries", batch.ids().size())
                        .start()
                        .end(end, TimeUnit.NANOSECONDS);
            }
        }
    }

    private static List<RecordEvent> events(List<Decoded> decoded) {
        return decoded.stream().map(Decoded::event).toList();
    }
}
