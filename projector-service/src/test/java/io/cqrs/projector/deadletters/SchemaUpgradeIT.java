package io.cqrs.projector.deadletters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.jayway.jsonpath.JsonPath;
import io.cqrs.events.EventCodec;
import io.cqrs.events.EventStreams;
import io.cqrs.events.RecordDeleted;
import io.cqrs.events.RecordEvent;
import io.cqrs.events.RecordWritten;
import io.cqrs.testsupport.ServiceProcess;
import io.cqrs.testsupport.TestApiKeys;
import io.cqrs.testsupport.TestDatabase;
import io.cqrs.testsupport.TestRedis;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The rolling upgrade done in the wrong order, and its recovery (docs/schema-evolution.md): a writer already publishes
 * a schema the running projector does not read, so the projector dead-letters those events; the projector is upgraded
 * and an operator redrives them; they end up in the read model, exactly.
 *
 * <p>The code cannot be upgraded inside a test, so the same jar plays both projectors: the "old" one starts with
 * {@code cqrs.projector.max-schema} one below what the codec reads ({@code EventCodec.SCHEMA - 1}), as a projector built
 * before the current schema would, and the writer's events are today's ({@code EventCodec.encode}, schema
 * {@code EventCodec.SCHEMA}). The "upgraded" one starts with the default, the highest schema the codec reads. Both run
 * as an operator runs them ({@code java -Xmx256m -jar}), on a stream and database of their own.
 */
class SchemaUpgradeIT {

    private static final Instant EPOCH = Instant.parse("2026-11-28T12:00:00Z");

    @Test
    @Timeout(600)
    void eventsOfASchemaTheProjectorDoesNotReadYetAreDeadLetteredThenRedrivenIntoTheReadModelAfterTheUpgrade()
            throws Exception {
        String stream = "cqrs:test:"
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()) + ":events";
        String dlq = EventStreams.deadLetterStream(stream);
        RedisClient client = RedisClient.create(TestRedis.url());
        try (var database = TestDatabase.create();
                var connection = client.connect()) {
            var redis = connection.sync();
            try {
                List<RecordEvent> events = List.of(
                        new RecordWritten(1, "upgrade/a", "a v1", 1, 1, EPOCH),
                        new RecordWritten(2, "upgrade/a", "a v2", 2, 2, EPOCH.plusMillis(1)),
                        new RecordWritten(3, "upgrade/b", "b v1", 1, 1, EPOCH.plusMillis(2)),
                        new RecordDeleted(4, "upgrade/b", 2, 1, EPOCH.plusMillis(3)));

                // The projector that predates the writer's schema.
                try (var old = projector(
                        "projector-old", database, stream, "--cqrs.projector.max-schema=" + (EventCodec.SCHEMA - 1))) {
                    old.start().awaitReady();
                    var ids = new ArrayList<String>();
                    for (var event : events) {
                        ids.add(redis.xadd(stream, EventCodec.encode(event)));
                    }

                    await().alias("every event dead-lettered by the old projector")
                            .atMost(Duration.ofSeconds(60))
                            .until(() -> redis.xlen(dlq) == events.size());
                    assertThat(redis.xrange(dlq, Range.unbounded()))
                            .allSatisfy(entry -> assertThat(entry.getBody())
                                    .containsEntry(DeadLetterFields.PROBLEM, "UNKNOWN_SCHEMA"))
                            .extracting(entry -> entry.getBody().get(DeadLetterFields.ORIGINAL_ID))
                            .containsExactlyElementsOf(ids);
                    assertThat(count(database, "select count(*) from records where key like 'upgrade/%'"))
                            .as("nothing projected, nothing lost either: it is all in the dead-letter stream")
                            .isZero();
                    old.stop();
                }

                // The upgrade: the same stream, group and database, a projector that reads the schema.
                try (var upgraded = projector("projector-upgraded", database, stream)) {
                    upgraded.start().awaitReady();
                    var reasons = upgraded.management().as(TestApiKeys.ADMIN).get("/actuator/deadletters/reasons");
                    assertThat(JsonPath.parse(reasons.body()).read("$.reasons", Map.class))
                            .isEqualTo(Map.of("UNKNOWN_SCHEMA", events.size()));

                    var answer = upgraded.management()
                            .as(TestApiKeys.ADMIN)
                            .postJson("/actuator/deadletters/redrive", "{\"reason\": \"UNKNOWN_SCHEMA\"}");

                    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
                    assertThat(JsonPath.parse(answer.body()).read("$.redriven", Long.class))
                            .isEqualTo(events.size());
                    await().alias("every redriven event projected")
                            .atMost(Duration.ofSeconds(60))
                            .until(() ->
                                    count(database, "select events_applied from projection_state") == events.size());
                    assertThat(value(database, "upgrade/a")).isEqualTo("a v2|2|2|false");
                    assertThat(value(database, "upgrade/b")).isEqualTo("null|2|1|true");
                    assertThat(count(database, "select records from projection_state"))
                            .isEqualTo(1);
                    assertThat(count(database, "select total_writes from projection_state"))
                            .isEqualTo(3);
                    assertThat(redis.xlen(dlq)).isZero();
                    assertThat(count(
                                    database,
                                    "select count(*) from operator_audit where operation = 'deadletters.redrive'"
                                            + " and outcome = 'succeeded'"))
                            .isEqualTo(1);
                }
            } finally {
                redis.del(stream, dlq);
            }
        } finally {
            client.shutdown();
        }
    }

    private static ServiceProcess projector(String name, TestDatabase database, String stream, String... arguments) {
        return new ServiceProcess(
                name,
                Path.of(required("cqrs.jar.projector-service")),
                Path.of(required("cqrs.service-logs")),
                Map.of(
                        "READ_DB_URL",
                        database.jdbcUrl(),
                        "PROJECTOR_DB_USER",
                        database.username(),
                        "PROJECTOR_DB_PASSWORD",
                        database.password(),
                        "REDIS_URL",
                        TestRedis.url(),
                        "EVENT_STREAM_NAME",
                        stream,
                        "PROJECTOR_POLL_INTERVAL",
                        "200ms",
                        "DB_POOL_MIN_SIZE",
                        "1",
                        "DB_POOL_MAX_SIZE",
                        "4"),
                List.of(arguments));
    }

    private static long count(TestDatabase database, String query) throws SQLException {
        try (var connection =
                        DriverManager.getConnection(database.jdbcUrl(), database.username(), database.password());
                var rows = connection.createStatement().executeQuery(query)) {
            return rows.next() ? rows.getLong(1) : 0;
        }
    }

    /** A record as {@code value|version|write_count|deleted}. */
    private static String value(TestDatabase database, String key) throws SQLException {
        try (var connection =
                        DriverManager.getConnection(database.jdbcUrl(), database.username(), database.password());
                var statement = connection.prepareStatement(
                        "select value, version, write_count, deleted from records where key = ?")) {
            statement.setString(1, key);
            try (var rows = statement.executeQuery()) {
                return rows.next()
                        ? rows.getString(1) + "|" + rows.getLong(2) + "|" + rows.getLong(3) + "|" + rows.getBoolean(4)
                        : "absent";
            }
        }
    }

    private static String required(String property) {
        String value = System.getProperty(property);
        if (value == null) {
            throw new IllegalStateException("Run by Failsafe, which sets " + property);
        }
        return value;
    }
}
