package io.cqrs.write.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.events.EventCodec;
import io.cqrs.events.EventStreams;
import io.cqrs.stream.RedisConnections;
import io.cqrs.testsupport.RealServers;
import io.cqrs.testsupport.RedisProcess;
import io.cqrs.testsupport.TestStream;
import io.cqrs.write.outbox.StreamLossDetector.Outcome;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.api.sync.RedisCommands;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * Redis losing the stream's data: the write side notices and republishes the outbox retention window. The scheduled
 * check is slowed down so that each test drives the detector itself; the sweeper runs as usual.
 */
@SpringBootTest(
        properties = {
            "cqrs.outbox.sweep-interval=200ms",
            "cqrs.outbox.sweep-delay=500ms",
            "cqrs.outbox.max-backoff=1s",
            "cqrs.outbox.loss-check-interval=1h",
            "cqrs.outbox.replay-batch=3"
        })
@Import({RealServers.class, StreamLossIT.OwnRedis.class})
class StreamLossIT {

    static final RedisProcess REDIS = RedisProcess.start();

    /** This context's Redis is one the test can kill and restart empty. */
    @TestConfiguration(proxyBeanMethods = false)
    static class OwnRedis {
        @Bean
        @Primary
        DataRedisConnectionDetails ownRedis() {
            return REDIS.connectionDetails();
        }
    }

    @Autowired
    JdbcClient jdbc;

    @Autowired
    TestStream stream;

    @Autowired
    StreamLossDetector detector;

    @Autowired
    OutboxRepository outbox;

    @Autowired
    OutboxProperties properties;

    @Autowired
    RedisConnections redisConnections;

    @Autowired
    MeterRegistry meters;

    @AfterAll
    static void stopRedis() {
        REDIS.close();
    }

    @Test
    void republishesTheRetentionWindowAfterRedisLostItsData() {
        detector.check(); // the epoch as the service found it at start
        long first = insertUnpublished("a");
        long second = insertUnpublished("b");
        long third = insertUnpublished("c");
        long fourth = insertUnpublished("d");
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(streamCommandIds()).contains(first, second, third, fourth));
        long expired = insertPublished("expired", "now() - interval '25 hours'");
        double replaysBefore = meters.counter("cqrs.outbox.replays").count();

        REDIS.stop();
        REDIS.restart();

        // Until the detector's connection is back, Redis rejects its commands, before the check changed anything.
        var check = await().atMost(Duration.ofSeconds(10))
                .ignoreExceptionsInstanceOf(RedisException.class)
                .until(detector::check, Objects::nonNull);
        assertThat(check.outcome()).isEqualTo(Outcome.REPLAYED);
        assertThat(check.rows()).as("all four, in batches of three").isGreaterThanOrEqualTo(4);
        assertThat(meters.counter("cqrs.outbox.replays").count()).isEqualTo(replaysBefore + 1);
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(streamCommandIds()).contains(first, second, third, fourth));
        assertThat(streamCommandIds()).as("beyond the retention window").doesNotContain(expired);
        await().atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(count("select count(*) from outbox where published_at is null"))
                        .isZero());

        assertThat(detector.check().outcome())
                .as("the replay itself is no loss")
                .isEqualTo(Outcome.INTACT);
    }

    @Test
    void aSecondInstanceDoesNotReplayWhatTheFirstAlreadyDid() {
        detector.check();
        insertPublished("x", "now() - interval '1 minute'");
        var other = detector(stream.name(), new SimpleMeterRegistry());

        redis(commands -> commands.flushall());

        assertThat(detector.check().outcome()).isEqualTo(Outcome.REPLAYED);
        assertThat(other.check().outcome()).isEqualTo(Outcome.INTACT);
    }

    @Test
    void aFreshStreamIsAdoptedWithoutReplaying() {
        insertPublished("old", "now() - interval '1 minute'");
        long unpublishedBefore = count("select count(*) from outbox where published_at is null");
        var fresh = detector("cqrs:test:fresh-" + UUID.randomUUID() + ":events", new SimpleMeterRegistry());

        assertThat(fresh.check().outcome()).isEqualTo(Outcome.ADOPTED);
        assertThat(count("select count(*) from outbox where published_at is null"))
                .isEqualTo(unpublishedBefore);
    }

    @Test
    void aDeletedStreamIsALossTooWhenRowsWerePublished() {
        long id = insertUnpublished("deleted");
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(streamCommandIds()).contains(id));
        detector.check();

        redis(commands -> commands.del(stream.name()));

        assertThat(detector.check().outcome()).isEqualTo(Outcome.REPLAYED);
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(streamCommandIds()).contains(id));
        String epoch = redis(commands -> commands.get(EventStreams.epochKey(stream.name())));
        assertThat(epoch).isNotNull();
    }

    private StreamLossDetector detector(String streamName, MeterRegistry registry) {
        return new StreamLossDetector(redisConnections, new StreamProperties(streamName), outbox, properties, registry);
    }

    private long insertUnpublished(String name) {
        long id = insertCommand(name);
        jdbc.sql("insert into outbox (command_id) values (?)").param(id).update();
        return id;
    }

    private long insertPublished(String name, String publishedAt) {
        long id = insertCommand(name);
        jdbc.sql("insert into outbox (command_id, published_at, stream_id) values (?, " + publishedAt + ", '1-0')")
                .param(id)
                .update();
        return id;
    }

    private long insertCommand(String name) {
        return jdbc.sql("insert into commands (key, version, op, value, write_count) values (?, 1, 'write', 'v', 1)"
                        + " returning id")
                .param(name + "-" + UUID.randomUUID())
                .query(Long.class)
                .single();
    }

    private long count(String sql) {
        return jdbc.sql(sql).query(Long.class).single();
    }

    private Set<Long> streamCommandIds() {
        return redis(commands -> {
            Set<Long> ids = new HashSet<>();
            commands.xrange(stream.name(), Range.unbounded())
                    .forEach(e -> ids.add(EventCodec.decode(e.getBody()).commandId()));
            return ids;
        });
    }

    private <T> T redis(Function<RedisCommands<String, String>, T> action) {
        var client = RedisClient.create(REDIS.uri());
        try (var connection = client.connect()) {
            return action.apply(connection.sync());
        } finally {
            client.shutdown();
        }
    }
}
