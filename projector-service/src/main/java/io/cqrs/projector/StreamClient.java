package io.cqrs.projector;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.resource.ClientResources;
import java.time.Duration;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;

/**
 * The projector's own Lettuce client, configured from the same connection details as Boot's Redis support (so tests
 * and production reach Redis the same way): one shared connection for short commands, and a dedicated connection per
 * blocking reader whose timeout exceeds its {@code BLOCK} time.
 */
final class StreamClient implements DisposableBean {

    // Bounded, and rejecting while disconnected: a Redis outage fails fast into our backoff instead of buffering.
    private static final int REQUEST_QUEUE_SIZE = 10_000;

    private final RedisClient client;
    private final Duration commandTimeout;
    private @Nullable StatefulRedisConnection<String, String> shared;

    StreamClient(DataRedisConnectionDetails details, ClientResources resources, Duration commandTimeout) {
        if (details.getSentinel() != null || details.getCluster() != null || details.getMasterReplica() != null) {
            throw new IllegalStateException(
                    "The projector reads its stream from a standalone Redis; Sentinel, Cluster and master/replica"
                            + " set-ups are not supported yet. Set REDIS_URL to redis://host:port[/database].");
        }
        this.commandTimeout = commandTimeout;
        this.client = RedisClient.create(resources, uri(details, commandTimeout));
        this.client.setOptions(ClientOptions.builder()
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .requestQueueSize(REQUEST_QUEUE_SIZE)
                .timeoutOptions(TimeoutOptions.enabled())
                .socketOptions(
                        SocketOptions.builder().connectTimeout(commandTimeout).build())
                .build());
    }

    /** The shared connection for short, non-blocking commands; connects on first use. */
    synchronized RedisCommands<String, String> commands() {
        if (shared == null) {
            shared = client.connect();
        }
        return shared.sync();
    }

    /** A new connection of the caller's own for blocking reads of up to {@code block}; the caller closes it. */
    StatefulRedisConnection<String, String> connectReader(Duration block) {
        var connection = client.connect();
        connection.setTimeout(block.plus(commandTimeout));
        return connection;
    }

    @Override
    public synchronized void destroy() {
        if (shared != null) {
            shared.close();
        }
        // The client resources are Boot's bean: shutting the client down leaves them to Boot.
        client.shutdown();
    }

    private static RedisURI uri(DataRedisConnectionDetails details, Duration timeout) {
        var standalone = details.getStandalone();
        var uri = RedisURI.Builder.redis(standalone.getHost(), standalone.getPort())
                .withDatabase(standalone.getDatabase())
                .withTimeout(timeout)
                .withSsl(details.getSslBundle() != null);
        String password = details.getPassword();
        if (password != null) {
            String username = details.getUsername();
            if (username == null) {
                uri.withPassword(password.toCharArray());
            } else {
                uri.withAuthentication(username, password);
            }
        }
        return uri.build();
    }
}
