package io.cqrs.write.reconcile;

import io.cqrs.events.EventStreams;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.RedisConnections;
import io.cqrs.stream.StreamInspector;
import io.cqrs.stream.StreamStatus;
import io.cqrs.write.outbox.StreamProperties;
import java.time.Duration;
import java.util.Map;
import java.util.OptionalDouble;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;

/**
 * What the reconciliation reads from and tells through Redis: the projectors' lag (a key written more recently than
 * that is still on its way, not diverged), and the divergences it knows of, in a hash the read service's
 * {@code /health} reports ({@link EventStreams#reconciliationKey}).
 */
@Component
class ReconciliationStatus implements DisposableBean {

    private final LazyRedisConnection redis;
    private final String stream;
    private final String key;

    ReconciliationStatus(RedisConnections connections, StreamProperties stream) {
        this.redis = connections.lazy();
        this.stream = stream.stream();
        this.key = EventStreams.reconciliationKey(stream.stream());
    }

    /**
     * The lag of the slowest consumer group in seconds; empty when Redis does not answer, or when entries wait and no
     * group exists yet (then nobody can say how long projection will take). See
     * {@link io.cqrs.stream.GroupStatus#lagSeconds}.
     */
    OptionalDouble projectionLagSeconds() {
        StreamStatus status;
        try {
            status = new StreamInspector(redis.sync()).inspect(stream);
        } catch (RuntimeException e) {
            return OptionalDouble.empty();
        }
        if (status.groups().isEmpty()) {
            return status.length() == 0 ? OptionalDouble.of(0) : OptionalDouble.empty();
        }
        return OptionalDouble.of(status.groups().stream()
                .mapToDouble(group -> group.lagSeconds(status.nowMillis()))
                .max()
                .orElse(0));
    }

    /** Tells the read service how many keys are diverged and being repaired, and how many are ahead. */
    void publish(long diverged, long ahead, Duration validFor) {
        var commands = redis.sync();
        commands.hset(
                key,
                Map.of(
                        "diverged", Long.toString(diverged),
                        "ahead", Long.toString(ahead),
                        "checked_at", Long.toString(System.currentTimeMillis())));
        commands.pexpire(key, validFor.toMillis());
    }

    @Override
    public void destroy() {
        redis.close();
    }
}
