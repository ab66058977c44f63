package io.cqrs.projector.deadletters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.jayway.jsonpath.DocumentContext;
import com.jayway.jsonpath.JsonPath;
import io.cqrs.events.EventCodec;
import io.cqrs.events.EventStreams;
import io.cqrs.events.RecordDeleted;
import io.cqrs.events.RecordEvent;
import io.cqrs.events.RecordWritten;
import io.cqrs.projector.audit.OperatorAudit;
import io.cqrs.stream.RedisConnections;
import io.cqrs.stream.StreamInspector;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.RealServers;
import io.cqrs.testsupport.TestApiKeys;
import io.cqrs.testsupport.TestStream;
import io.lettuce.core.Range;
import io.lettuce.core.RedisURI;
import io.lettuce.core.XAddArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * What the dead-letter tests share: the projector running on a stream of its own (with the short timers of the
 * projector's other tests), the management port with the admin key, a Redis connection to write the stream and the
 * dead-letter stream directly, and ways to read the read model and the audit log.
 *
 * <p>Each test starts with an empty dead-letter stream and uses keys of its own; counters are measured as differences.
 */
@SpringBootTest(
        webEnvironment = WebEnvironment.RANDOM_PORT,
        properties = {
            "cqrs.projector.consumer=projector-under-test",
            "cqrs.projector.batch-size=200",
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
abstract class DeadLetterTestSupport {

    static final Duration PATIENCE = Duration.ofSeconds(60);

    private static final AtomicLong COMMAND_IDS = new AtomicLong();
    private static final Instant EPOCH = Instant.parse("2026-11-28T10:00:00Z");

    @Autowired
    TestStream stream;

    @Autowired
    JdbcClient jdbc;

    @Autowired
    OperatorAudit audit;

    @Autowired
    RedisConnections connections;

    @LocalManagementPort
    int managementPort;

    StatefulRedisConnection<String, String> connection;
    RedisCommands<String, String> redis;

    /** A prefix for this test's keys, so that tests sharing the database never touch each other's rows. */
    final String prefix =
            "dl" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()) + "/";

    @BeforeEach
    void connectToRedisWithAnEmptyDeadLetterStream() {
        connection = connections.open(RedisURI.DEFAULT_TIMEOUT_DURATION);
        redis = connection.sync();
        awaitProjected();
        redis.del(dlq());
    }

    @AfterEach
    void closeRedis() {
        connection.close();
    }

    String dlq() {
        return EventStreams.deadLetterStream(stream.name());
    }

    LocalHttp admin() {
        return new LocalHttp(managementPort).as(TestApiKeys.ADMIN);
    }

    LocalHttp as(String key) {
        return new LocalHttp(managementPort).as(key);
    }

    static DocumentContext json(HttpResponse<String> response) {
        return JsonPath.parse(response.body());
    }

    static RecordWritten written(String key, long version, long writeCount) {
        return new RecordWritten(
                COMMAND_IDS.incrementAndGet(),
                key,
                key + " v" + version,
                version,
                writeCount,
                EPOCH.plusMillis(version));
    }

    static RecordDeleted deleted(String key, long version, long writeCount) {
        return new RecordDeleted(COMMAND_IDS.incrementAndGet(), key, version, writeCount, EPOCH.plusMillis(version));
    }

    /** Publishes entries to the stream as a producer would; returns their ids. */
    List<String> publish(List<Map<String, String>> entries) {
        return entries.stream().map(fields -> redis.xadd(stream.name(), fields)).toList();
    }

    /**
     * Writes a dead letter as the projector does ({@code StreamGroup.deadLetter}): the event's fields and the
     * {@code dlq_*} fields. For events the projector can apply, standing for entries dead-lettered by an older projector
     * or a read database that has been fixed since.
     */
    String deadLetter(RecordEvent event, String problem) {
        return deadLetter(EventCodec.encode(event), problem, null);
    }

    String deadLetter(Map<String, String> eventFields, String problem, String id) {
        var fields = new LinkedHashMap<>(eventFields);
        fields.put(DeadLetterFields.REASON, "dead-lettered by the test as " + problem);
        fields.put(DeadLetterFields.PROBLEM, problem);
        fields.put(DeadLetterFields.ORIGINAL_ID, "1-" + COMMAND_IDS.incrementAndGet());
        fields.put(DeadLetterFields.DELIVERIES, "1");
        fields.put(DeadLetterFields.CONSUMER, "a-test");
        return id == null ? redis.xadd(dlq(), fields) : redis.xadd(dlq(), new XAddArgs().id(id), fields);
    }

    List<String> deadLetterIds() {
        return redis.xrange(dlq(), Range.unbounded()).stream()
                .map(entry -> entry.getId())
                .toList();
    }

    /** Waits until the group has nothing pending and nothing unread. */
    void awaitProjected() {
        var inspector = new StreamInspector(redis);
        await().atMost(PATIENCE)
                .untilAsserted(() -> assertThat(inspector.inspect(stream.name()).group("projector"))
                        .hasValueSatisfying(g -> {
                            assertThat(g.pending()).as("pending").isZero();
                            assertThat(g.firstUnreadId()).as("first unread").isNull();
                        }));
    }

    record Row(String key, String value, long version, long writeCount, boolean deleted) {}

    Optional<Row> row(String key) {
        return jdbc.sql("select key, value, version, write_count, deleted from records where key = ?")
                .param(key)
                .query((rs, i) -> new Row(
                        rs.getString("key"),
                        rs.getString("value"),
                        rs.getLong("version"),
                        rs.getLong("write_count"),
                        rs.getBoolean("deleted")))
                .optional();
    }

    record State(long applied, long stale, long deadLettered, long records, long totalWrites) {}

    State state() {
        return jdbc.sql(
                        "select events_applied as applied, events_stale as stale, events_dead_lettered as dead_lettered,"
                                + " records, total_writes from projection_state where projection = 'records'")
                .query(State.class)
                .single();
    }

    /** The maintained counters equal what a full scan of the rows says. */
    void assertCountersMatchRows() {
        var state = state();
        assertThat(state.records())
                .isEqualTo(jdbc.sql("select count(*) from records where not deleted")
                        .query(Long.class)
                        .single());
        assertThat(state.totalWrites())
                .isEqualTo(jdbc.sql("select coalesce(sum(write_count), 0) from records")
                        .query(Long.class)
                        .single());
    }

    /** The newest audit entry. */
    OperatorAudit.Entry lastAudit() {
        return audit.recent(1).getFirst();
    }

    long auditCount() {
        return jdbc.sql("select count(*) from operator_audit").query(Long.class).single();
    }
}
