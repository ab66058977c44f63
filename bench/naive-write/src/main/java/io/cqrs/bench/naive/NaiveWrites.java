package io.cqrs.bench.naive;

import java.util.Map;
import org.springframework.data.redis.connection.stream.StreamRecords;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * The naive design the write service is measured against: the command is committed on its own, then its event is
 * appended to the stream. It loses writes: when Redis is down, slow or the process dies between the two steps, the
 * command is stored and acknowledged (or answered 500 after committing) but its event never reaches the stream, and
 * nothing ever sends it. The write service's outbox exists to close that gap; this class is its cost-free baseline.
 */
@Component
class NaiveWrites {

    private final JdbcClient jdbc;
    private final StringRedisTemplate redis;
    private final String stream;

    NaiveWrites(JdbcClient jdbc, StringRedisTemplate redis, NaiveProperties properties) {
        this.jdbc = jdbc;
        this.redis = redis;
        this.stream = properties.stream();
    }

    /** Inserts the command (auto-commit), then appends its event; returns both ids. */
    Written write(String key, String value) {
        long commandId = jdbc.sql("insert into commands (key, value) values (:key, :value) returning id")
                .param("key", key)
                .param("value", value)
                .query(Long.class)
                .single();
        var eventId = redis.opsForStream()
                .add(StreamRecords.string(Map.of("key", key, "value", value, "command_id", Long.toString(commandId)))
                        .withStreamKey(stream));
        return new Written(commandId, String.valueOf(eventId));
    }

    record Written(long commandId, String eventId) {}
}
