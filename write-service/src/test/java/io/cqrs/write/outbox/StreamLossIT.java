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
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.stream.Stream;
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
 * Redis losing the stream's data, or some of it: the write side notices and republishes what is gone from the outbox.
 * The scheduled check is slowed down so that each test drives the detector itself; the sweeper runs as usual.
 * Rollbacks are played here by hand (the mark set back, the entries after it deleted); {@link StreamRollbackIT}
 * restarts a real Redis from an older snapshot.
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
    StreamMarks marks;

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
        double replaysBefore = replays("lost");

        REDIS.stop();
        REDIS.restart();

        // Until the detector's connection is back, Redis rejects its commands, before the check changed anything.
        var check = await().atMost(Duration.ofSeconds(10))
                .ignoreExceptionsInstanceOf(RedisException.class)
                .until(detector::check, Objects::nonNull);
        assertThat(check.outcome()).isEqualTo(Outcome.LOST);
        assertThat(check.rows()).as("all four, in batches of three").isGreaterThanOrEqualTo(4);
        assertThat(replays("lost")).isEqualTo(replaysBefore + 1);
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

        assertThat(detector.check().outcome()).isEqualTo(Outcome.LOST);
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

        assertThat(detector.check().outcome()).isEqualTo(Outcome.LOST);
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(streamCommandIds()).contains(id));
        String epoch = redis(commands -> commands.get(EventStreams.epochKey(stream.name())));
        assertThat(epoch).isNotNull();
    }

    @Test
    void republishesWhatWasPublishedAfterTheMarkRedisWasRolledBackTo() {
        awaitStreamExists();
        long before = insertPublished("before", "now() - interval '1 minute'");
        detector.check();
        String rolledBackTo = redis(commands -> commands.get(epochKey()));
        Set<Long> after = Set.of(
                insertUnpublished("after-1"),
                insertUnpublished("after-2"),
                insertUnpublished("after-3"),
                insertUnpublished("after-4"));
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(streamCommandIds()).containsAll(after));
        assertThat(detector.check().outcome()).as("a later mark").isEqualTo(Outcome.INTACT);
        Instant since = marks.find(stream.name(), rolledBackTo)
                .markedAt()
                .minus(properties.publishTimeout().plus(properties.sweepInterval()));
        long publishedSince = count("select count(*) from outbox where published_at > '" + since + "'");
        double replaysBefore = replays("rolled_back");

        // Redis restored from a snapshot taken right after that mark: the mark, and none of the entries after it.
        redis(commands -> {
            commands.set(epochKey(), rolledBackTo);
            return commands.xdel(stream.name(), streamIdsOf(commands, after));
        });
        var check = detector.check();

        assertThat(check.outcome()).isEqualTo(Outcome.ROLLED_BACK);
        assertThat(check.rows())
                .as("the rows published after the mark, less the margin")
                .isEqualTo(publishedSince)
                .isGreaterThanOrEqualTo(after.size());
        assertThat(replays("rolled_back")).isEqualTo(replaysBefore + 1);
        assertThat(streamIdOf(before))
                .as("published before the mark: left alone")
                .isEqualTo("1-0");
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(streamCommandIds()).containsAll(after));
        assertThat(detector.check().outcome()).isEqualTo(Outcome.INTACT);
    }

    @Test
    void aMarkWhoseSetFailedIsNoRollback() {
        detector.check();
        long failed = Objects.requireNonNull(marks.latest(stream.name())) + 1;
        // What a check leaves when Redis refused its SET: the mark claimed, never confirmed, Redis on the one before.
        marks.claim(stream.name(), failed, "failed:" + failed, "run-id-of-a-redis-that-was-down");
        double replaysBefore = allReplays(meters);

        var check = detector.check();

        assertThat(check).isEqualTo(new StreamLossDetector.Check(Outcome.INTACT, 0));
        assertThat(marks.latestConfirmed(stream.name())).isEqualTo(failed + 1);
        assertThat(allReplays(meters)).isEqualTo(replaysBefore);
    }

    @Test
    void aMarkRedisTookIsConfirmedEvenIfItsCheckDidNotGetToIt() {
        detector.check();
        long landed = Objects.requireNonNull(marks.latest(stream.name())) + 1;
        String runId = redis(commands -> commands.info("server")
                .lines()
                .filter(line -> line.startsWith("run_id:"))
                .findFirst()
                .orElseThrow()
                .substring("run_id:".length())
                .strip());
        // The SET made it, the confirmation did not (the database went away in between).
        marks.claim(stream.name(), landed, "landed:" + landed, runId);
        redis(commands -> commands.set(epochKey(), "landed:" + landed));

        assertThat(detector.check().outcome()).isEqualTo(Outcome.INTACT);
        assertThat(marks.find(stream.name(), "landed:" + landed).confirmed()).isTrue();
    }

    @Test
    void twoInstancesCheckingAtOnceReplayNothingWhenNothingWasLost() throws Exception {
        awaitStreamExists();
        insertPublished("window", "now() - interval '1 minute'");
        detector.check();
        var otherMeters = new SimpleMeterRegistry();
        var other = detector(stream.name(), otherMeters);
        double replaysBefore = allReplays(meters);
        long confirmedBefore = Objects.requireNonNull(marks.latestConfirmed(stream.name()));
        List<Outcome> outcomes = Collections.synchronizedList(new ArrayList<>());

        try (var executor = Executors.newFixedThreadPool(2)) {
            var start = new CountDownLatch(1);
            var runs = Stream.of(detector, other)
                    .map(instance -> executor.submit(() -> {
                        start.await();
                        for (int i = 0; i < 100; i++) {
                            outcomes.add(instance.check().outcome());
                        }
                        return null;
                    }))
                    .toList();
            start.countDown();
            for (var run : runs) {
                run.get();
            }
        }

        assertThat(outcomes).hasSize(200).containsOnly(Outcome.INTACT, Outcome.YIELDED);
        assertThat(allReplays(meters)).isEqualTo(replaysBefore);
        assertThat(allReplays(otherMeters)).isZero();
        assertThat(count("select count(*) from outbox where published_at is null"))
                .isZero();
        assertThat(marks.latestConfirmed(stream.name())).isGreaterThan(confirmedBefore + 100);
    }

    private StreamLossDetector detector(String streamName, MeterRegistry registry) {
        return new StreamLossDetector(
                redisConnections, new StreamProperties(streamName), outbox, marks, properties, registry);
    }

    private String epochKey() {
        return EventStreams.epochKey(stream.name());
    }

    private double replays(String kind) {
        return meters.counter("cqrs.outbox.replays", "kind", kind).count();
    }

    private static double allReplays(MeterRegistry registry) {
        return registry.find("cqrs.outbox.replays").counters().stream()
                .mapToDouble(Counter::count)
                .sum();
    }

    /**
     * Publishes an event through the outbox, so that the stream exists (a stream missing while rows were published is a
     * loss), and waits until earlier tests' replays are published again and the detector finds the stream intact.
     */
    private void awaitStreamExists() {
        long id = insertUnpublished("exists");
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(streamCommandIds()).contains(id));
        detector.check();
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(count("select count(*) from outbox where published_at is null"))
                        .isZero());
    }

    private String streamIdOf(long commandId) {
        return jdbc.sql("select stream_id from outbox where command_id = ?")
                .param(commandId)
                .query(String.class)
                .single();
    }

    private String[] streamIdsOf(RedisCommands<String, String> commands, Set<Long> commandIds) {
        return commands.xrange(stream.name(), Range.unbounded()).stream()
                .filter(entry ->
                        commandIds.contains(EventCodec.decode(entry.getBody()).commandId()))
                .map(entry -> entry.getId())
                .toArray(String[]::new);
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
