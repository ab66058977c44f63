package io.cqrs.read.health;

import io.cqrs.stream.StreamEntryId;
import io.cqrs.stream.StreamInspector;
import io.cqrs.stream.StreamStatus;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.stereotype.Component;

/**
 * Looks at the event stream and the projectors' group with short, non-blocking commands on a Lettuce connection of
 * its own. Commands fail at once while Redis is unreachable (instead of queueing until a timeout), so health and
 * stats stay fast when Redis is down.
 */
@Component
class ProjectionProbe implements DisposableBean {

    private final RedisClient client;
    private final EventsProperties events;
    private @Nullable StatefulRedisConnection<String, String> connection;

    ProjectionProbe(
            DataRedisConnectionDetails redis, EventsProperties events, HealthProperties health, MeterRegistry meters) {
        this.events = events;
        var standalone = redis.getStandalone();
        if (standalone == null) {
            throw new IllegalStateException("The read service observes a standalone Redis (REDIS_URL); sentinel and"
                    + " cluster set-ups are not supported yet");
        }
        var uri = RedisURI.Builder.redis(standalone.getHost(), standalone.getPort())
                .withDatabase(standalone.getDatabase())
                .withTimeout(health.timeout());
        String password = redis.getPassword();
        if (password != null) {
            uri.withAuthentication(redis.getUsername() == null ? "default" : redis.getUsername(), password);
        }
        this.client = RedisClient.create(uri.build());
        client.setOptions(ClientOptions.builder()
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(
                        SocketOptions.builder().connectTimeout(health.timeout()).build())
                .timeoutOptions(TimeoutOptions.enabled(health.timeout()))
                .build());
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

    private double lagSecondsOrNaN() {
        try {
            return lagSeconds(inspect());
        } catch (RuntimeException e) {
            return Double.NaN;
        }
    }

    private synchronized RedisCommands<String, String> commands() {
        StatefulRedisConnection<String, String> current = connection;
        if (current == null) {
            // Auto-reconnect keeps this connection alive across Redis restarts; only the first connect is ours.
            current = client.connect();
            connection = current;
        }
        return current.sync();
    }

    @Override
    public void destroy() {
        StatefulRedisConnection<String, String> current = connection;
        if (current != null) {
            current.close();
        }
        client.shutdown();
    }
}
