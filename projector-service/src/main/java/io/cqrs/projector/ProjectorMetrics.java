package io.cqrs.projector;

import io.cqrs.stream.GroupStatus;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.StreamEntryId;
import io.cqrs.stream.StreamInspector;
import io.cqrs.stream.StreamStatus;
import io.lettuce.core.StreamMessage;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * The projector's meters. Meter names are chosen so that the Prometheus names come out as docs/design.md lists them:
 * the registry appends {@code _total} to counters and the base unit to timers and gauges.
 */
@Component
class ProjectorMetrics {

    private static final Logger log = LoggerFactory.getLogger(ProjectorMetrics.class);

    // A scrape reads three stream gauges; one inspection serves them all.
    private static final Duration STATUS_MAX_AGE = Duration.ofSeconds(1);

    private final LazyRedisConnection redis;
    private final String stream;
    private final String group;
    private final Clock clock;
    private final Counter applied;
    private final Counter stale;
    private final Counter deadLettered;
    private final Counter claimed;
    private final Counter suspects;
    private final Counter groupRecreated;
    private final Counter readDbRetries;
    private final Counter redisRetries;
    private final Counter unexpectedRetries;
    private final DistributionSummary batchSize;
    private final DistributionSummary batchBytes;
    private final Counter oversizedEntries;
    private final Timer applyTime;
    private final Timer commitToProjected;
    private final Timer xaddToProjector;
    private final Timer projectorTransaction;

    // Entries past the delivery limit whose next claim waits for their backoff, as the latest claim scan found them.
    private volatile int backingOff;

    private @Nullable StreamStatus status;
    private Instant statusAt = Instant.MIN;

    ProjectorMetrics(MeterRegistry registry, ProjectorProperties properties, LazyRedisConnection redis, Clock clock) {
        this.redis = redis;
        this.stream = properties.events().stream();
        this.group = properties.events().group();
        this.clock = clock;
        Tags tags = Tags.of("stream", stream, "group", group);
        this.applied = events(registry, tags, "applied");
        this.stale = events(registry, tags, "stale");
        this.deadLettered = events(registry, tags, "dead_lettered");
        this.claimed = Counter.builder("cqrs.projector.claimed")
                .description("Entries taken over from consumers that left them idle (XPENDING, XCLAIM)")
                .tags(tags)
                .register(registry);
        this.suspects = Counter.builder("cqrs.projector.suspect.entries")
                .description("Entries delivered more often than the limit without an acknowledgement (consumers"
                        + " crashed holding them), applied alone instead of in a batch")
                .tags(tags)
                .register(registry);
        Gauge.builder("cqrs.projector.suspect.entries.backing.off", this, m -> m.backingOff)
                .description("Entries past the delivery limit whose next claim waits for its backoff, as the latest"
                        + " claim scan found them")
                .tags(tags)
                .register(registry);
        this.groupRecreated = Counter.builder("cqrs.stream.group.recreated")
                .description("Times the consumer group had vanished (NOGROUP) and was created again: Redis may have"
                        + " lost data")
                .tags(tags)
                .register(registry);
        this.readDbRetries = retries(registry, tags, "read_db");
        this.redisRetries = retries(registry, tags, "redis");
        this.unexpectedRetries = retries(registry, tags, "unexpected");
        this.batchSize = DistributionSummary.builder("cqrs.projector.batch.size")
                .description("Stream entries per batch")
                .tags(tags)
                .publishPercentileHistogram()
                .minimumExpectedValue(1.0)
                .maximumExpectedValue((double) properties.projector().batchSize())
                .register(registry);
        this.batchBytes = DistributionSummary.builder("cqrs.projector.batch")
                .description("Memory the entries of one batch take, estimated (two bytes per character, plus the"
                        + " objects around them); at most about PROJECTOR_BATCH_MAX_BYTES")
                .baseUnit("bytes")
                .tags(tags)
                .publishPercentileHistogram()
                .minimumExpectedValue(1024.0)
                .maximumExpectedValue(
                        (double) properties.projector().batchMaxBytes().toBytes())
                .register(registry);
        this.oversizedEntries = Counter.builder("cqrs.projector.oversized.entries")
                .description("Entries larger than the largest the write side's value limit allows"
                        + " (CQRS_MAX_VALUE_BYTES): counted at their size, and reads sized for them from then on")
                .tags(tags)
                .register(registry);
        this.applyTime = Timer.builder("cqrs.projector.apply")
                .description("Time to finish one batch: decode, read-database transaction, dead-letter copies, XACK")
                .tags(tags)
                .publishPercentileHistogram()
                .maximumExpectedValue(Duration.ofSeconds(10))
                .register(registry);
        this.commitToProjected = Timer.builder("cqrs.commit.to.projected")
                .description("From an event's write-side commit (occurred_at) to the read-database commit that applied"
                        + " it")
                .tags(tags)
                .publishPercentileHistogram()
                .maximumExpectedValue(Duration.ofSeconds(60))
                .register(registry);
        // From an entry's XADD (the millisecond its stream id holds, Redis' clock) to the projector taking it in hand
        // (read, or read ahead and waiting for the batch before), per entry read anew (claimed ones are old news).
        this.xaddToProjector = stage(registry, tags, "xadd_to_projector");
        // From the projector taking a batch in hand to its read-database transaction committed, once per event.
        this.projectorTransaction = stage(registry, tags, "projector_transaction");
        gauge(
                registry,
                tags,
                "cqrs.projection.lag",
                "seconds",
                "Age of the oldest entry the group has not finished;" + " 0 when nothing is pending or unread",
                s -> s.lagSeconds(group));
        gauge(
                registry,
                tags,
                "cqrs.stream.pending",
                null,
                "Entries delivered to the group but not acknowledged",
                s -> s.group(group).map(g -> (double) g.pending()).orElse(0.0));
        gauge(
                registry,
                tags,
                "cqrs.stream.group.lag",
                null,
                "Entries not yet delivered to the group; NaN when Redis" + " cannot tell",
                s -> s.group(group).map(ProjectorMetrics::unread).orElse(0.0));
    }

    void batch(int entries, long bytes, Duration took) {
        batchSize.record(entries);
        batchBytes.record(bytes);
        applyTime.record(took);
    }

    void applied(RecordProjection.Outcome outcome, Instant committedAt) {
        applied.increment(outcome.applied());
        stale.increment(outcome.stale());
        for (Instant occurredAt : outcome.appliedOccurredAt()) {
            Duration latency = Duration.between(occurredAt, committedAt);
            commitToProjected.record(latency.isNegative() ? Duration.ZERO : latency);
        }
    }

    /**
     * Entries read anew are in hand at {@code now}: each one's time since its XADD. A stream id holds the millisecond
     * Redis added it at, by Redis' clock: each figure is up to a millisecond too high, and off by the difference
     * between the two machines' clocks where Redis runs elsewhere.
     */
    void taken(List<StreamMessage<String, String>> entries, Instant now) {
        long nowMicros = now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
        for (var entry : entries) {
            long addedMicros = StreamEntryId.millisOf(entry.getId()) * 1_000;
            xaddToProjector.record(Math.max(0, nowMicros - addedMicros), TimeUnit.MICROSECONDS);
        }
    }

    /** A batch's transaction committed {@code nanos} after the batch was taken in hand: once per event it held. */
    void transaction(int events, long nanos) {
        for (int i = 0; i < events; i++) {
            projectorTransaction.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    /**
     * A stage of an event's way from the write commit to a read that sees it, {@code cqrs_stage_seconds{stage=...}}:
     * the write, projector and read services each time theirs under one name, so that the slowest shows side by side.
     * Buckets from 100 µs: the target for the whole way is a few milliseconds. README "Metrics and health" says what
     * each stage covers.
     */
    private static Timer stage(MeterRegistry registry, Tags tags, String stage) {
        return Timer.builder("cqrs.stage")
                .description("Time events spend in one stage of their way from the write commit to a read that sees"
                        + " them, by stage")
                .tags(tags)
                .tag("stage", stage)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(100_000))
                .maximumExpectedValue(Duration.ofSeconds(10))
                .register(registry);
    }

    void deadLettered(int entries) {
        deadLettered.increment(entries);
    }

    void claimed(int entries) {
        claimed.increment(entries);
    }

    void oversizedEntry() {
        oversizedEntries.increment();
    }

    void suspect() {
        suspects.increment();
    }

    void backingOff(int entries) {
        backingOff = entries;
    }

    void groupRecreated() {
        groupRecreated.increment();
    }

    void readDbRetry() {
        readDbRetries.increment();
    }

    void redisRetry() {
        redisRetries.increment();
    }

    void unexpectedRetry() {
        unexpectedRetries.increment();
    }

    private synchronized Optional<StreamStatus> status() {
        Instant now = clock.instant();
        if (Duration.between(statusAt, now).compareTo(STATUS_MAX_AGE) > 0) {
            statusAt = now;
            try {
                status = new StreamInspector(redis.sync()).inspect(stream);
            } catch (RuntimeException e) {
                // The gauges read NaN while Redis cannot be asked: unknown, not zero.
                log.debug("Cannot inspect stream {}: {}", stream, e.toString());
                status = null;
            }
        }
        return Optional.ofNullable(status);
    }

    private static double unread(GroupStatus group) {
        if (group.firstUnreadId() == null) {
            return 0;
        }
        return group.unread() == null ? Double.NaN : group.unread();
    }

    private void gauge(
            MeterRegistry registry,
            Tags tags,
            String name,
            @Nullable String unit,
            String description,
            ToDoubleFunction<StreamStatus> value) {
        Gauge.builder(name, this, m -> m.status().map(value::applyAsDouble).orElse(Double.NaN))
                .description(description)
                .tags(tags)
                .baseUnit(unit)
                .register(registry);
    }

    private static Counter events(MeterRegistry registry, Tags tags, String result) {
        return Counter.builder("cqrs.projector.events")
                .description("Stream entries the projector finished, by result: applied (newer than the read model),"
                        + " stale (not newer: duplicate, redelivery, late), dead_lettered")
                .tags(tags)
                .tag("result", result)
                .register(registry);
    }

    private static Counter retries(MeterRegistry registry, Tags tags, String cause) {
        return Counter.builder("cqrs.projector.retries")
                .description("Failed attempts retried after a backoff, by what failed")
                .tags(tags)
                .tag("cause", cause)
                .register(registry);
    }
}
