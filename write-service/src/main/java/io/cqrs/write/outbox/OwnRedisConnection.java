package io.cqrs.write.outbox;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import org.jspecify.annotations.Nullable;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * A Redis connection of one component's own, opened on first use from the client Boot configured (URL, timeouts,
 * fail-fast options), so that its commands never queue behind another component's; closed with the component.
 * Opening on first use lets the service start while Redis is down.
 */
final class OwnRedisConnection implements AutoCloseable {

    private final LettuceConnectionFactory redis;
    private final Object connecting = new Object();
    private volatile @Nullable StatefulRedisConnection<String, String> connection;

    OwnRedisConnection(LettuceConnectionFactory redis) {
        this.redis = redis;
    }

    StatefulRedisConnection<String, String> get() {
        var current = connection;
        if (current != null) {
            return current;
        }
        synchronized (connecting) {
            if (connection == null) {
                connection = ((RedisClient) redis.getRequiredNativeClient()).connect(StringCodec.UTF8);
            }
            return connection;
        }
    }

    @Override
    public void close() {
        var current = connection;
        if (current != null) {
            current.close();
        }
    }
}
