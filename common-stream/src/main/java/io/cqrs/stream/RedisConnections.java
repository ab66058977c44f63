package io.cqrs.stream;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import java.time.Duration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * Redis connections of a component's own, opened from the Lettuce client Boot configured: host, port, database,
 * username, password and SSL from its connection details ({@code REDIS_URL}, or a test's server), the connect timeout,
 * and the client options every service shares ({@link RedisConnectionsAutoConfiguration}). Every service reaches Redis
 * this one way; a component that must not queue behind others (a blocking reader, a pipelined publisher, a health
 * probe) opens a connection of its own here instead of building a client.
 */
public final class RedisConnections {

    private final LettuceConnectionFactory factory;

    public RedisConnections(LettuceConnectionFactory factory) {
        this.factory = factory;
    }

    /**
     * A new connection whose commands time out after {@code commandTimeout}; the caller closes it. A blocking reader
     * passes more than its {@code BLOCK} time, or Lettuce drops replies whose entries still land in its pending list.
     */
    public StatefulRedisConnection<String, String> open(Duration commandTimeout) {
        var connection = client().connect(StringCodec.UTF8);
        connection.setTimeout(commandTimeout);
        return connection;
    }

    /** A connection opened on first use and kept: a service starts while Redis is down, and Lettuce reconnects it. */
    public LazyRedisConnection lazy(Duration commandTimeout) {
        return new LazyRedisConnection(this, commandTimeout);
    }

    /** {@link #lazy(Duration)} with the command timeout Boot configured ({@code spring.data.redis.timeout}). */
    public LazyRedisConnection lazy() {
        return lazy(factory.getClientConfiguration().getCommandTimeout());
    }

    // Boot builds a plain RedisClient for Sentinel too, whose connect() would bypass what Sentinel is for.
    private RedisClient client() {
        if (!factory.isRedisSentinelAware()
                && !factory.isClusterAware()
                && factory.getRequiredNativeClient() instanceof RedisClient client) {
            return client;
        }
        throw new IllegalStateException("The services use a standalone Redis; Sentinel and Cluster set-ups are not"
                + " supported yet. Set REDIS_URL to redis[s]://[[user]:password@]host:port[/database].");
    }
}
