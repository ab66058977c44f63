package io.cqrs.testsupport;

import io.cqrs.events.EventStreams;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;

/**
 * A stream name of its own for one test context, set as {@value #PROPERTY}; the stream and its dead-letter stream
 * (and the write side's epoch key, the projectors' control hash) are deleted when the context closes, so runs that share a Redis never see each other's events.
 */
public final class TestStream implements DisposableBean {

    /** The property every service reads its stream name from. */
    public static final String PROPERTY = "cqrs.events.stream";

    private final DataRedisConnectionDetails redis;
    private final String name = "cqrs:test:"
            + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()) + ":events";

    TestStream(DataRedisConnectionDetails redis) {
        this.redis = redis;
    }

    public String name() {
        return name;
    }

    // Its own client: when the context closes, Boot's (and RedisConnections) may already be stopped, as a paused
    // context's are. Tests that talk to the stream take a connection from their context's RedisConnections.
    private RedisURI redisUri() {
        var standalone = redis.getStandalone();
        var uri = RedisURI.Builder.redis(standalone.getHost(), standalone.getPort())
                .withDatabase(standalone.getDatabase());
        String password = redis.getPassword();
        if (password != null) {
            uri.withAuthentication(redis.getUsername() == null ? "default" : redis.getUsername(), password);
        }
        return uri.build();
    }

    @Override
    public void destroy() {
        RedisClient client = RedisClient.create(redisUri());
        try (var connection = client.connect()) {
            connection
                    .sync()
                    .del(
                            name,
                            EventStreams.deadLetterStream(name),
                            EventStreams.epochKey(name),
                            EventStreams.controlKey(name));
        } finally {
            client.shutdown();
        }
    }
}
