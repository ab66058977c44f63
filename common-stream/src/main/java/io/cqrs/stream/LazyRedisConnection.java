package io.cqrs.stream;

import io.lettuce.core.RedisChannelHandler;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * One component's Redis connection, opened on first use (so that the service starts while Redis is down) and closed
 * with the component; Lettuce reconnects it across Redis restarts. Boot's connection factory shuts its client down when
 * the context stops and makes a new one when it starts again (as a paused test context does): a connection closed with
 * the old client is opened again from the new one.
 */
public final class LazyRedisConnection implements AutoCloseable {

    private final RedisConnections connections;
    private final Duration commandTimeout;
    private final Object connecting = new Object();
    private volatile @Nullable StatefulRedisConnection<String, String> connection;

    LazyRedisConnection(RedisConnections connections, Duration commandTimeout) {
        this.connections = connections;
        this.commandTimeout = commandTimeout;
    }

    public StatefulRedisConnection<String, String> get() {
        var current = connection;
        if (current != null && !closed(current)) {
            return current;
        }
        synchronized (connecting) {
            current = connection;
            if (current == null || closed(current)) {
                current = connections.open(commandTimeout);
                connection = current;
            }
            return current;
        }
    }

    // Closed, not merely disconnected: a disconnected connection rejects commands at once while Lettuce reconnects it.
    private static boolean closed(StatefulRedisConnection<String, String> connection) {
        return connection instanceof RedisChannelHandler<?, ?> handler && handler.isClosed();
    }

    public RedisCommands<String, String> sync() {
        return get().sync();
    }

    public RedisAsyncCommands<String, String> async() {
        return get().async();
    }

    @Override
    public void close() {
        synchronized (connecting) {
            var current = connection;
            connection = null;
            // Boot's client closes every connection it made when it stops (lifecycle phase 0), often before us.
            if (current != null && !closed(current)) {
                current.close();
            }
        }
    }
}
