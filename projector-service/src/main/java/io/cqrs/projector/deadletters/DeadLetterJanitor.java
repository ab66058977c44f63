package io.cqrs.projector.deadletters;

import io.cqrs.stream.StreamEntryId;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.scheduling.annotation.SchedulingConfigurer;
import org.springframework.scheduling.config.ScheduledTaskRegistrar;
import org.springframework.stereotype.Component;

/**
 * Keeps the dead-letter stream bounded, by age ({@code PROJECTOR_DLQ_MAX_AGE}) and by size
 * ({@code PROJECTOR_DLQ_MAX_ENTRIES}), and warns before it drops anything: each round (the stream janitor's period) it
 * measures how full the stream is ({@code cqrs_deadletter_capacity_ratio}: depth over the maximum or the oldest entry's
 * age over the maximum age, the larger), logs a WARN when that passes {@value #WARN_RATIO}, then trims what is beyond
 * a bound ({@code XTRIM MINID} for age, {@code MAXLEN} for size, in bounded steps) and counts it in
 * {@code cqrs_deadletter_dropped_total}. Alerting on the ratio leaves time to redrive before anything is dropped.
 */
@Component
class DeadLetterJanitor implements SchedulingConfigurer {

    static final double WARN_RATIO = 0.8;

    private static final Logger log = LoggerFactory.getLogger(DeadLetterJanitor.class);

    private final DeadLetterStream deadLetters;
    private final long maxEntries;
    private final Duration maxAge;
    private final Duration interval;
    private final Counter droppedForAge;
    private final Counter droppedForSize;
    private volatile double entries = Double.NaN;
    private volatile double oldestAgeSeconds = Double.NaN;
    private volatile double capacityRatio = Double.NaN;
    private volatile boolean warned;

    DeadLetterJanitor(DeadLetterStream deadLetters, DeadLetterProperties properties, MeterRegistry registry) {
        this.deadLetters = deadLetters;
        this.maxEntries = properties.maxEntries();
        this.maxAge = properties.maxAge();
        this.interval = properties.checkInterval();
        Tags tags = Tags.of("stream", deadLetters.stream());
        Gauge.builder("cqrs.deadletter.entries", this, j -> j.entries)
                .description("Entries in the dead-letter stream, as of the latest check")
                .tags(tags)
                .register(registry);
        Gauge.builder("cqrs.deadletter.oldest.age", this, j -> j.oldestAgeSeconds)
                .description("Age of the oldest dead letter; 0 when there is none")
                .tags(tags)
                .baseUnit("seconds")
                .register(registry);
        Gauge.builder("cqrs.deadletter.capacity.ratio", this, j -> j.capacityRatio)
                .description("How full the dead-letter stream is: entries over PROJECTOR_DLQ_MAX_ENTRIES or oldest age"
                        + " over PROJECTOR_DLQ_MAX_AGE, the larger; entries are dropped beyond 1")
                .tags(tags)
                .register(registry);
        this.droppedForAge = dropped(registry, tags, "age");
        this.droppedForSize = dropped(registry, tags, "size");
    }

    private static Counter dropped(MeterRegistry registry, Tags tags, String bound) {
        return Counter.builder("cqrs.deadletter.dropped")
                .description("Dead letters dropped because the dead-letter stream was beyond a bound, by bound")
                .tags(tags)
                .tag("bound", bound)
                .register(registry);
    }

    @Override
    public void configureTasks(ScheduledTaskRegistrar registrar) {
        registrar.addFixedDelayTask(this::check, interval);
    }

    /** What one round found and did. */
    record Round(
            long entries, double oldestAgeSeconds, double capacityRatio, long droppedForAge, long droppedForSize) {}

    /** One round: measure (and warn), trim to the bounds, measure again for the gauges. */
    Optional<Round> check() {
        try {
            long now = deadLetters.nowMillis();
            var before = measure(now);
            warn(before);
            long oldEnough = now - maxAge.toMillis();
            long forAge = oldEnough > 0 ? deadLetters.trimBelow(new StreamEntryId(oldEnough, 0)) : 0;
            long forSize = deadLetters.trimTo(maxEntries);
            if (forAge > 0) {
                droppedForAge.increment(forAge);
                log.warn(
                        "Dropped {} dead letters older than {} from {} (PROJECTOR_DLQ_MAX_AGE)",
                        forAge,
                        maxAge,
                        deadLetters.name());
            }
            if (forSize > 0) {
                droppedForSize.increment(forSize);
                log.warn(
                        "Dropped the {} oldest dead letters from {}: more than {} (PROJECTOR_DLQ_MAX_ENTRIES)",
                        forSize,
                        deadLetters.name(),
                        maxEntries);
            }
            var after = forAge + forSize > 0 ? measure(now) : before;
            entries = after.entries();
            oldestAgeSeconds = after.oldestAgeSeconds();
            capacityRatio = after.capacityRatio();
            return Optional.of(
                    new Round(after.entries(), after.oldestAgeSeconds(), after.capacityRatio(), forAge, forSize));
        } catch (RuntimeException e) {
            // Unknown, not zero, while Redis cannot be asked.
            entries = Double.NaN;
            oldestAgeSeconds = Double.NaN;
            capacityRatio = Double.NaN;
            log.warn(
                    "Cannot check the dead letters of {} ({}); trying again in {}",
                    deadLetters.stream(),
                    e.toString(),
                    interval);
            return Optional.empty();
        }
    }

    private record Measure(long entries, double oldestAgeSeconds, double capacityRatio) {}

    private Measure measure(long now) {
        long depth = deadLetters.depth();
        double age = deadLetters
                .oldest()
                .map(id -> Math.max(0, now - id.millis()) / 1000.0)
                .orElse(0.0);
        double ratio = Math.max((double) depth / maxEntries, age * 1000.0 / maxAge.toMillis());
        return new Measure(depth, age, ratio);
    }

    private void warn(Measure measure) {
        boolean full = measure.capacityRatio() > WARN_RATIO;
        if (full && !warned) {
            log.warn(
                    "The dead-letter stream {} is {}% full ({} entries of {}, the oldest {} s of {} s old): redrive or"
                            + " purge them before the oldest are dropped",
                    deadLetters.name(),
                    Math.round(measure.capacityRatio() * 100),
                    measure.entries(),
                    maxEntries,
                    Math.round(measure.oldestAgeSeconds()),
                    maxAge.toSeconds());
        } else if (!full && warned) {
            log.info(
                    "The dead-letter stream {} is below {}% full again",
                    deadLetters.name(), Math.round(WARN_RATIO * 100));
        }
        warned = full;
    }
}
