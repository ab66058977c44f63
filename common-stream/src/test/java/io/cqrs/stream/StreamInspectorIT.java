package io.cqrs.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.testsupport.RealServers;
import io.cqrs.testsupport.TestStream;
import io.lettuce.core.Consumer;
import io.lettuce.core.RedisURI;
import io.lettuce.core.XAddArgs;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;

@SpringBootTest(classes = StreamInspectorIT.RedisOnly.class)
class StreamInspectorIT {

    @SpringBootConfiguration
    @EnableAutoConfiguration
    @Import(RealServers.class)
    static class RedisOnly {}

    @Autowired
    TestStream stream;

    @Autowired
    RedisConnections connections;

    StatefulRedisConnection<String, String> connection;
    RedisCommands<String, String> redis;
    StreamInspector inspector;

    @BeforeEach
    void connect() {
        connection = connections.open(RedisURI.DEFAULT_TIMEOUT_DURATION);
        redis = connection.sync();
        redis.del(stream.name());
        inspector = new StreamInspector(redis);
    }

    @AfterEach
    void close() {
        connection.close();
    }

    @Test
    void reportsAMissingStream() {
        var status = inspector.inspect(stream.name());

        assertThat(status.exists()).isFalse();
        assertThat(status.groups()).isEmpty();
        assertThat(status.safeTrimId()).isEmpty();
    }

    @Test
    void countsEntriesEverAddedThroughTrims() {
        assertThat(inspector.entriesAdded(stream.name())).isZero();
        for (int i = 0; i < 5; i++) {
            redis.xadd(stream.name(), Map.of("n", Integer.toString(i)));
        }
        redis.xtrim(stream.name(), 2);

        assertThat(redis.xlen(stream.name())).isEqualTo(2);
        assertThat(inspector.entriesAdded(stream.name())).isEqualTo(5);
    }

    @Test
    void aGroupThatHasReadEverythingIsNotLagging() {
        redis.xgroupCreate(XReadArgs.StreamOffset.from(stream.name(), "0"), "g", XGroupCreateArgs.Builder.mkstream());

        var status = inspector.inspect(stream.name());

        assertThat(status.exists()).isTrue();
        assertThat(status.lagSeconds("g")).isZero();
        assertThat(status.group("g"))
                .hasValueSatisfying(g -> assertThat(g.oldestUnprojectedId()).isNull());
    }

    @Test
    void followsUnreadThenPendingThenAcknowledgedEntries() {
        redis.xgroupCreate(XReadArgs.StreamOffset.from(stream.name(), "0"), "g", XGroupCreateArgs.Builder.mkstream());
        long past = Long.parseLong(redis.time().getFirst()) * 1000 - 5_000;
        for (int i = 0; i < 3; i++) {
            redis.xadd(stream.name(), new XAddArgs().id(past + i + "-0"), Map.of("n", Integer.toString(i)));
        }

        var unread = inspector.inspect(stream.name());
        assertThat(unread.length()).isEqualTo(3);
        assertThat(unread.lastEntryId()).hasToString(past + 2 + "-0");
        assertThat(unread.group("g")).hasValueSatisfying(g -> {
            assertThat(g.pending()).isZero();
            assertThat(g.unread()).isEqualTo(3);
            assertThat(g.firstUnreadId()).hasToString(past + "-0");
        });
        assertThat(unread.lagSeconds("g")).isGreaterThanOrEqualTo(5.0);
        assertThat(unread.safeTrimId()).hasValueSatisfying(id -> assertThat(id).hasToString(past + "-0"));

        var delivered = redis.xreadgroup(
                Consumer.from("g", "c1"),
                XReadArgs.Builder.count(2),
                XReadArgs.StreamOffset.lastConsumed(stream.name()));
        var reading = inspector.inspect(stream.name());
        assertThat(reading.group("g")).hasValueSatisfying(g -> {
            assertThat(g.pending()).isEqualTo(2);
            assertThat(g.oldestPendingId()).hasToString(past + "-0");
            assertThat(g.firstUnreadId()).hasToString(past + 2 + "-0");
        });

        redis.xack(
                stream.name(), "g", delivered.get(0).getId(), delivered.get(1).getId());
        var acknowledged = inspector.inspect(stream.name());
        assertThat(acknowledged.safeTrimId())
                .hasValueSatisfying(id -> assertThat(id).hasToString(past + 2 + "-0"));

        var last = redis.xreadgroup(Consumer.from("g", "c1"), XReadArgs.StreamOffset.lastConsumed(stream.name()));
        redis.xack(stream.name(), "g", last.getFirst().getId());
        var done = inspector.inspect(stream.name());
        assertThat(done.lagSeconds("g")).isZero();
        assertThat(done.safeTrimId()).hasValueSatisfying(id -> assertThat(id).hasToString(past + 2 + "-1"));
    }

    @Test
    void theSlowestGroupHoldsTrimmingBack() {
        redis.xgroupCreate(
                XReadArgs.StreamOffset.from(stream.name(), "0"), "fast", XGroupCreateArgs.Builder.mkstream());
        redis.xgroupCreate(XReadArgs.StreamOffset.from(stream.name(), "0"), "slow");
        String first = redis.xadd(stream.name(), Map.of("n", "1"));
        redis.xadd(stream.name(), Map.of("n", "2"));
        var read = redis.xreadgroup(Consumer.from("fast", "c"), XReadArgs.StreamOffset.lastConsumed(stream.name()));
        read.forEach(m -> redis.xack(stream.name(), "fast", m.getId()));

        var status = inspector.inspect(stream.name());

        assertThat(status.slowestGroup())
                .hasValueSatisfying(g -> assertThat(g.name()).isEqualTo("slow"));
        assertThat(status.safeTrimId()).hasValueSatisfying(id -> assertThat(id).hasToString(first));
    }
}
