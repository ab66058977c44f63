package io.cqrs.projector;

import io.cqrs.stream.GroupStatus;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.StreamInspector;
import io.cqrs.stream.StreamStatus;
import io.lettuce.core.XTrimArgs;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.scheduling.annotation.SchedulingConfigurer;
import org.springframework.scheduling.config.ScheduledTaskRegistrar;
import org.springframework.stereotype.Component;

/**
 * Keeps the stream's memory bounded: on a timer, trims it below the oldest entry some group has not finished
 * ({@code XTRIM MINID ~}), so an entry pending or unread in any group is never removed. Counts what it trimmed, and
 * warns (and shows in a gauge) when one group holds trimming back for long.
 */
@Component
class StreamJanitor implements SchedulingConfigurer {

    private static final Logger log = LoggerFactory.getLogger(StreamJanitor.class);
    /** XTRIM calls per round at most: about 10M entries, so that one round never monopolises Redis for long. */
    private static final int MAX_TRIM_CALLS = 1000;

    private final LazyRedisConnection redis;
    private final String stream;
    private final Duration interval;
    private final Duration warnAge;
    private final Counter trimmed;
    private volatile double heldBackSeconds;
    private volatile boolean warned;

    StreamJanitor(LazyRedisConnection redis, ProjectorProperties properties, MeterRegistry registry) {
        this.redis = redis;
        this.stream = properties.events().stream();
        this.interval = properties.projector().trimInterval();
        this.warnAge = properties.projector().trimWarnAge();
        Tags tags = Tags.of("stream", stream);
        this.trimmed = Counter.builder("cqrs.stream.trimmed")
                .description("Entries removed from the stream after every group had finished them")
                .tags(tags)
                .register(registry);
        Gauge.builder("cqrs.stream.trim.held.back", this, j -> j.heldBackSeconds)
                .description("Age of the oldest entry some consumer group has not finished, below which nothing can"
                        + " be trimmed")
                .tags(tags)
                .baseUnit("seconds")
                .register(registry);
    }

    @Override
    public void configureTasks(ScheduledTaskRegistrar registrar) {
        registrar.addFixedDelayTask(this::trim, interval);
    }

    /** One round: inspect, trim below the safe point, report the group that holds it back. */
    long trim() {
        return trim(stream);
    }

    /**
     * One round on {@code stream}. {@code XTRIM MINID ~} removes at most 100 macro nodes (10,000 entries with the
     * default {@code stream-node-max-entries}) per call, so a round repeats it until nothing more goes: one call per
     * 10 s interval capped trimming at 1,000 entries/s, and the stream grew without bound under a heavier load.
     */
    long trim(String stream) {
        try {
            StreamStatus status = new StreamInspector(redis.sync()).inspect(stream);
            status.slowestGroup()
                    .ifPresentOrElse(slowest -> report(slowest, status.nowMillis()), () -> heldBackSeconds = 0);
            var safe = status.safeTrimId();
            if (!status.exists() || safe.isEmpty()) {
                return 0;
            }
            var below = new XTrimArgs().minId(safe.get().toString()).approximateTrimming();
            long removed = 0;
            long step;
            int calls = 0;
            do {
                step = redis.sync().xtrim(stream, below);
                removed += step;
            } while (step > 0 && ++calls < MAX_TRIM_CALLS);
            if (removed > 0) {
                trimmed.increment(removed);
                log.info("Trimmed {} entries below {} from stream {}", removed, safe.get(), stream);
            }
            return removed;
        } catch (RuntimeException e) {
            log.warn("Cannot trim stream {} ({}); trying again in {}", stream, e.toString(), interval);
            return 0;
        }
    }

    private void report(GroupStatus slowest, long nowMillis) {
        heldBackSeconds = slowest.lagSeconds(nowMillis);
        boolean heldBack = heldBackSeconds > warnAge.toMillis() / 1000.0;
        if (heldBack && !warned) {
            log.warn(
                    "Consumer group {} holds trimming of stream {} back: its oldest unfinished entry {} is {} s old"
                            + " ({} pending). Memory grows until it catches up or the group is removed.",
                    slowest.name(),
                    stream,
                    slowest.oldestUnprojectedId(),
                    Math.round(heldBackSeconds),
                    slowest.pending());
        } else if (!heldBack && warned) {
            log.info("Consumer group {} no longer holds trimming of stream {} back", slowest.name(), stream);
        }
        warned = heldBack;
    }
}
