package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.events.EventCodec;
import io.cqrs.events.EventStreams;
import io.cqrs.events.RecordWritten;
import io.cqrs.testsupport.ServiceProcess;
import io.cqrs.testsupport.TestDatabase;
import io.cqrs.testsupport.TestRedis;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.async.RedisAsyncCommands;
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
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The projector as an operator runs it ({@code java -Xmx256m -jar}, see {@link ServiceProcess}) against a backlog of
 * the largest entries the write side accepts: 4,800 writes of 64 KB values queued while it was away (issue 14). When
 * batches were bounded in entries only, its first read asked for all of them at once and the process died with
 * OutOfMemoryError, which ended projection for good.
 */
class ProjectorMemoryIT {

    private static final int ENTRIES = 4800;
    private static final int VALUE_BYTES = 65536;
    private static final long BUDGET = 32L * 1024 * 1024;

    @Test
    @Timeout(900)
    void projectsABacklogOfTheLargestValuesAt256MegabytesInBatchesWithinTheBudget() throws Exception {
        String stream = "cqrs:test:"
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()) + ":events";
        RedisClient client = RedisClient.create(TestRedis.url());
        try (var database = TestDatabase.create();
                var redis = client.connect();
                var projector = projector(database, stream)) {
            try {
                publishLargestValues(redis.async(), stream);

                projector.start().awaitReady();
                await().alias("all " + ENTRIES + " entries projected")
                        .atMost(Duration.ofMinutes(10))
                        .pollInterval(Duration.ofSeconds(1))
                        .until(() -> {
                            if (!projector.isAlive()) {
                                throw new AssertionError("the projector died:\n" + projector.logTail(30));
                            }
                            return projected(database) == ENTRIES;
                        });

                assertThat(projector.management().get("/actuator/health").body())
                        .contains("\"status\":\"UP\"");
                String metrics =
                        projector.management().get("/actuator/prometheus").body();
                assertThat(metric(metrics, "cqrs_projector_batch_bytes_max"))
                        .as("largest batch, estimated bytes")
                        .isPositive()
                        .isLessThanOrEqualTo(BUDGET);
                assertThat(metric(metrics, "cqrs_projector_batch_size_max"))
                        .as("most entries in one batch")
                        .isLessThan(ENTRIES / 10.0);
                assertThat(metric(metrics, "cqrs_projector_oversized_entries_total"))
                        .as("entries larger than the write limits allow")
                        .isZero();
            } finally {
                redis.sync().del(stream, EventStreams.deadLetterStream(stream));
            }
        } finally {
            client.shutdown();
        }
    }

    private static ServiceProcess projector(TestDatabase database, String stream) {
        return new ServiceProcess(
                "projector-service",
                Path.of(required("cqrs.jar.projector-service")),
                Path.of(required("cqrs.service-logs")),
                Map.of(
                        "READ_DB_URL", database.jdbcUrl(),
                        "READ_DB_USER", database.username(),
                        "READ_DB_PASSWORD", database.password(),
                        "REDIS_URL", TestRedis.url(),
                        "EVENT_STREAM_NAME", stream,
                        "DB_POOL_MIN_SIZE", "1",
                        "DB_POOL_MAX_SIZE", "4"),
                List.of());
    }

    /**
     * Publishes writes of values of {@code VALUE_BYTES} UTF-8 bytes, the write side's limit, pipelined a hundred at a
     * time. The last character is beyond Latin-1, so that Java holds each value at two bytes per character: the most
     * heap such a value can take.
     */
    private static void publishLargestValues(RedisAsyncCommands<String, String> redis, String stream) {
        String filler = "x".repeat(VALUE_BYTES - 3);
        var inFlight = new ArrayList<RedisFuture<String>>();
        for (int i = 0; i < ENTRIES; i++) {
            String value = (i + filler).substring(0, VALUE_BYTES - 3) + "\u20ac";
            var event = new RecordWritten(
                    i + 1,
                    "large/" + i,
                    value,
                    1,
                    1,
                    Instant.parse("2026-11-28T10:00:00Z").plusMillis(i));
            inFlight.add(redis.xadd(stream, EventCodec.encode(event)));
            if (inFlight.size() == 100 || i == ENTRIES - 1) {
                assertThat(LettuceFutures.awaitAll(60, TimeUnit.SECONDS, inFlight.toArray(RedisFuture[]::new)))
                        .isTrue();
                inFlight.clear();
            }
        }
    }

    private static long projected(TestDatabase database) throws SQLException {
        try (var connection =
                        DriverManager.getConnection(database.jdbcUrl(), database.username(), database.password());
                var rows = connection
                        .createStatement()
                        .executeQuery("select events_applied from projection_state where projection = 'records'")) {
            return rows.next() ? rows.getLong(1) : 0;
        } catch (SQLException e) {
            // The projector migrates the read database at start-up: no table yet.
            if ("42P01".equals(e.getSQLState())) {
                return 0;
            }
            throw e;
        }
    }

    /** The value of a meter in Prometheus' text format (the first series of that name). */
    private static double metric(String scrape, String name) {
        var line = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*})? (\\S+)$", Pattern.MULTILINE)
                .matcher(scrape);
        assertThat(line.find()).as(name + " in the scrape").isTrue();
        return Double.parseDouble(line.group(2));
    }

    private static String required(String property) {
        String value = System.getProperty(property);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("System property " + property + " is not set: run this test through Maven"
                    + " (./mvnw -B verify -pl projector-service -am), which sets it in projector-service/pom.xml");
        }
        return value;
    }
}
