package io.cqrs.read.health;

import io.cqrs.events.EventStreams;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.RedisConnections;
import io.cqrs.stream.StreamEntryId;
import io.cqrs.stream.StreamInspector;
import io.cqrs.stream.StreamStatus;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.sync.RedisCommands;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

/**
 * Looks at the event stream and the projectors' group with short, non-blocking commands on a Redis connection of its
 * own, opened on first use (the service starts while Redis is down). Commands fail at once while Redis is unreachable
 * (instead of queueing until a timeout), and a command or a connect attempt takes at most {@code cqrs.health.timeout},
 * so health and stats stay fast when Redis is down.
 */
@Component
class ProjectionProbe implements SmartLifecycle {

    /**
     * Boot's Lettuce client stops in phase 0 and closes every connection it opened: close ours just before, after the
     * web server (and the health checks of the requests it drains) has stopped.
     */
    private static final int PHASE = 1;

    private final LazyRedisConnection redis;
    private final EventsProperties events;
    private volatile boolean running;

    ProjectionProbe(
            RedisConnections connections, EventsProperties events, HealthProperties health, MeterRegistry meters) {
        this.redis = connections.lazy(health.timeout());
        this.events = events;
        Gauge.builder("cqrs.projection.lag", this, ProjectionProbe::lagSecondsOrNaN)
                .description("Age of the oldest stream entry the projectors' group has not finished, per Redis' clock;"
                        + " 0 when there is none")
                .baseUnit("seconds")
                .register(meters);
    }

    /** The projectors' consumer group. */
    String group() {
        return events.group();
    }

    String stream() {
        return events.stream();
    }

    /** The stream and its groups now. */
    StreamStatus inspect() {
        return new StreamInspector(commands()).inspect(events.stream());
    }

    /** Entries ever added to the stream ({@code XINFO STREAM} {@code entries-added}, Redis 7.0+); 0 if none. */
    @Nullable
    Long eventsPublished() {
        return new StreamInspector(commands()).entriesAdded(events.stream());
    }

    /**
     * The projectors' lag in seconds (see {@link StreamStatus#lagSeconds}). One case is stricter than that: entries
     * waiting while the group does not exist (no projector ever started) count from the oldest entry, not as 0.
     */
    double lagSeconds(StreamStatus status) {
        if (status.group(events.group()).isPresent() || status.length() == 0) {
            return status.lagSeconds(events.group());
        }
        List<StreamMessage<String, String>> first =
                commands().xrange(events.stream(), Range.unbounded(), Limit.from(1));
        if (first.isEmpty()) {
            return 0;
        }
        long oldest = StreamEntryId.parse(first.getFirst().getId()).millis();
        return Math.max(0, status.nowMillis() - oldest) / 1000.0;
    }

    /**
     * What the write side's reconciliation last said about the read model (see
     * {@link EventStreams#reconciliationKey}); null when it said nothing recently (not running, or the key expired).
     */
    ReadHealth.@Nullable Reconciliation reconciliation() {
        Map<String, String> fields = commands().hgetall(EventStreams.reconciliationKey(events.stream()));
        if (fields.isEmpty()) {
            return null;
        }
        long diverged = Long.parseLong(fields.getOrDefault("diverged", "0"));
        long ahead = Long.parseLong(fields.getOrDefault("ahead", "0"));
        return new ReadHealth.Reconciliation(diverged, ahead, diverged == 0 && ahead == 0);
    }

    private double lagSecondsOrNaN() {
        try {
            return lagSeconds(inspect());
        } catch (RuntimeException e) {
            return Double.NaN;
        }
    }

    private RedisCommands<String, String> commands() {
        return redis.sync();
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        running = false;
        redis.close();
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
