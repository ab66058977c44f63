package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.events.EventCodec;
import io.cqrs.events.EventStreams;
import io.cqrs.events.RecordDeleted;
import io.cqrs.events.RecordEvent;
import io.cqrs.events.RecordWritten;
import io.cqrs.stream.RedisConnections;
import io.cqrs.stream.StreamInspector;
import io.cqrs.testsupport.RealServers;
import io.cqrs.testsupport.TestStream;
import io.lettuce.core.Consumer;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XClaimArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.models.stream.PendingMessage;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * What the projector's integration tests share: one application context (so the context cache starts it once for all
 * of them) with short timers, a Redis connection of the test's own to write the stream, and ways to read the result.
 *
 * <p>Tests share the stream and database, so each uses keys of its own and measures counters as differences.
 */
@SpringBootTest(
        webEnvironment = WebEnvironment.RANDOM_PORT,
        properties = {
            "cqrs.projector.consumer=projector-under-test",
            "cqrs.projector.batch-size=200",
            // Room for about 15 entries of the largest size per batch: every test reads batches in several XREADGROUPs.
            "cqrs.projector.batch-max-bytes=2MB",
            "cqrs.projector.poll-interval=200ms",
            "cqrs.projector.claim-idle=1s",
            "cqrs.projector.claim-interval=200ms",
            "cqrs.projector.max-deliveries=3",
            "cqrs.projector.trim-interval=200ms",
            "cqrs.projector.retry-backoff=50ms",
            "cqrs.projector.retry-max-backoff=500ms",
            "spring.datasource.hikari.maximum-pool-size=5",
            "spring.datasource.hikari.minimum-idle=1"
        })
@Import(RealServers.class)
abstract class ProjectorTestSupport {

    static final Duration PATIENCE = Duration.ofSeconds(60);

    private static final AtomicLong COMMAND_IDS = new AtomicLong();
    private static final Instant EPOCH = Instant.parse("2026-11-21T10:00:00Z");

    @Autowired
    TestStream stream;

    @Autowired
    JdbcClient jdbc;

    @Autowired
    MeterRegistry meters;

    @Autowired
    ProjectorProperties properties;

    @Autowired
    RedisConnections connections;

    StatefulRedisConnection<String, String> connection;
    RedisCommands<String, String> redis;

    /** A prefix for this test's keys, so that tests sharing the database never touch each other's rows. */
    final String prefix =
            "t" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()) + "/";

    @BeforeEach
    void connectToRedis() {
        connection = connections.open(RedisURI.DEFAULT_TIMEOUT_DURATION);
        redis = connection.sync();
    }

    @AfterEach
    void closeRedis() {
        connection.close();
    }

    String group() {
        return properties.events().group();
    }

    static RecordWritten written(String key, long version, long writeCount) {
        return written(key, key + " v" + version, version, writeCount);
    }

    static RecordWritten written(String key, String value, long version, long writeCount) {
        return new RecordWritten(
                COMMAND_IDS.incrementAndGet(), key, value, version, writeCount, EPOCH.plusMillis(version));
    }

    static RecordDeleted deleted(String key, long version, long writeCount) {
        return new RecordDeleted(COMMAND_IDS.incrementAndGet(), key, version, writeCount, EPOCH.plusMillis(version));
    }

    /** Publishes the events in order, pipelined, the way a producer does; returns the entry ids. */
    List<String> publish(List<? extends RecordEvent> events) {
        return publishFields(events.stream().map(EventCodec::encode).toList());
    }

    List<String> publishFields(List<Map<String, String>> entries) {
        var async = connection.async();
        var futures = new ArrayList<RedisFuture<String>>();
        for (var fields : entries) {
            futures.add(async.xadd(stream.name(), fields));
        }
        assertThat(LettuceFutures.awaitAll(30, TimeUnit.SECONDS, futures.toArray(RedisFuture[]::new)))
                .isTrue();
        return futures.stream().map(f -> f.toCompletableFuture().join()).toList();
    }

    /** Waits until the group has nothing pending and nothing unread: every entry so far is projected or dead. */
    void awaitProjected() {
        var inspector = new StreamInspector(redis);
        await().atMost(PATIENCE)
                .untilAsserted(() -> assertThat(inspector.inspect(stream.name()).group(group()))
                        .hasValueSatisfying(g -> {
                            assertThat(g.pending()).as("pending").isZero();
                            assertThat(g.firstUnreadId()).as("first unread").isNull();
                        }));
    }

    record Row(
            String key,
            String value,
            long version,
            long writeCount,
            boolean deleted,
            Instant createdAt,
            Instant updatedAt,
            long lastCommandId) {}

    Optional<Row> row(String key) {
        return jdbc.sql("select * from records where key = ?")
                .param(key)
                .query((rs, i) -> new Row(
                        rs.getString("key"),
                        rs.getString("value"),
                        rs.getLong("version"),
                        rs.getLong("write_count"),
                        rs.getBoolean("deleted"),
                        rs.getObject("created_at", OffsetDateTime.class).toInstant(),
                        rs.getObject("updated_at", OffsetDateTime.class).toInstant(),
                        rs.getLong("last_command_id")))
                .optional();
    }

    List<Row> rows(String keyPrefix) {
        return jdbc
                .sql("select key from records where key like ? order by key")
                .param(keyPrefix + "%")
                .query(String.class)
                .list()
                .stream()
                .map(key -> row(key).orElseThrow())
                .toList();
    }

    record State(long applied, long stale, long deadLettered, long records, long totalWrites) {}

    State state() {
        return jdbc.sql(
                        "select events_applied as applied, events_stale as stale, events_dead_lettered as dead_lettered,"
                                + " records, total_writes"
                                + " from projection_state where projection = 'records'")
                .query(State.class)
                .single();
    }

    /** The maintained counters equal what a full scan of the rows says: they are exact, not estimates. */
    void assertCountersMatchRows() {
        var state = state();
        assertThat(state.records())
                .as("projection_state.records")
                .isEqualTo(jdbc.sql("select count(*) from records where not deleted")
                        .query(Long.class)
                        .single());
        assertThat(state.totalWrites())
                .as("projection_state.total_writes")
                .isEqualTo(jdbc.sql("select coalesce(sum(write_count), 0) from records")
                        .query(Long.class)
                        .single());
    }

    double events(String result) {
        var counter = meters.find("cqrs.projector.events").tag("result", result).counter();
        return counter == null ? 0 : counter.count();
    }

    /**
     * Delivers a pending entry to {@code consumer} {@code times} times more without an acknowledgement, one XCLAIM each,
     * as consumers that crashed holding it (or restarted under the same name and re-read it) would.
     */
    void redeliver(String stream, String group, String consumer, String id, int times) {
        for (int i = 0; i < times; i++) {
            assertThat(redis.xclaim(stream, Consumer.from(group, consumer), new XClaimArgs().minIdleTime(0), id))
                    .as("entry %s delivered again", id)
                    .hasSize(1);
        }
    }

    /** How often the group has delivered a pending entry, and to which consumer it is pending now. */
    Optional<PendingMessage> pendingEntry(String stream, String group, String id) {
        return redis.xpending(stream, group, Range.create(id, id), Limit.from(1)).stream()
                .findFirst();
    }

    double count(String name, String... tags) {
        var counter = meters.find(name).tags(tags).counter();
        return counter == null ? 0 : counter.count();
    }

    /** The dead-letter entries that copy the given original entries, by original id. */
    Map<String, Map<String, String>> deadLetters(List<String> originalIds) {
        return deadLetters(stream.name(), originalIds);
    }

    /** The dead-letter entries of {@code stream} that copy the given original entries, by original id. */
    Map<String, Map<String, String>> deadLetters(String stream, List<String> originalIds) {
        var found = new HashMap<String, Map<String, String>>();
        for (StreamMessage<String, String> entry :
                redis.xrange(EventStreams.deadLetterStream(stream), Range.unbounded())) {
            String original = entry.getBody().get(StreamGroup.DLQ_ORIGINAL_ID);
            if (originalIds.contains(original)) {
                found.put(original, entry.getBody());
            }
        }
        return found;
    }
}
