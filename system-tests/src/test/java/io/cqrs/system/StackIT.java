package io.cqrs.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.jayway.jsonpath.DocumentContext;
import com.jayway.jsonpath.JsonPath;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.TestApiKeys;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * The three services at once, as real processes against real PostgreSQL and Redis, through their HTTP APIs only.
 *
 * <p>One stack for the class (starting three JVMs is the expensive part). Each test uses keys of its own; the two
 * tests that kill the projector run last, so that the exact figures of the others are not disturbed by redelivery.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StackIT {

    private static final Duration PROJECTED = Duration.ofSeconds(20);

    private static @Nullable Stack stack;

    @RegisterExtension
    static final TestWatcher LOGS_ON_FAILURE = new TestWatcher() {
        @Override
        public void testFailed(ExtensionContext context, @Nullable Throwable cause) {
            if (stack != null) {
                System.out.println(
                        "Service logs after the failure of " + context.getDisplayName() + ":\n" + stack.logTails(40));
            }
        }
    };

    @BeforeAll
    static void startStack() {
        stack = new Stack(
                        Map.of(
                                // A restarted projector has a new consumer name (host + pid): let it claim the
                                // killed one's pending entries after 2 s instead of 30 s.
                                "PROJECTOR_CLAIM_IDLE", "2s",
                                "PROJECTOR_CLAIM_INTERVAL", "500ms"),
                        Map.of(
                                "CQRS_HEALTH_LAG_THRESHOLD", "1s",
                                "CQRS_READ_COUNT_FLUSH_INTERVAL", "200ms"))
                .start();
    }

    @AfterAll
    static void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    private static Stack stack() {
        assertThat(stack).as("stack started").isNotNull();
        return stack;
    }

    private static LocalHttp write() {
        return stack().write.http();
    }

    private static LocalHttp read() {
        return stack().read.http();
    }

    @Test
    @Order(1)
    void readsItsOwnWritesThroughTheWholePipeline() {
        String key = "e2e/ryw " + System.nanoTime();

        var first = json(ok(write().postJson("/write", body(key, "first"))));
        assertThat(first.read("$.version", Long.class)).isEqualTo(1);
        assertThat(first.read("$.event_id", String.class)).isNotBlank();
        var readFirst = json(ok(readAtLeast(key, 1)));
        assertThat(readFirst.read("$.value", String.class)).isEqualTo("first");
        assertThat(readFirst.read("$.key", String.class)).isEqualTo(key);
        assertThat(readFirst.read("$.from_read_db", Boolean.class)).isTrue();

        // Read-your-writes: the read right after the write waits for exactly that version, no polling by the client.
        var second = json(ok(write().putJson("/write", body(key, "second"))));
        assertThat(second.read("$.version", Long.class)).isEqualTo(2);
        var readSecond = json(ok(readAtLeast(key, 2)));
        assertThat(readSecond.read("$.value", String.class)).isEqualTo("second");
        assertThat(readSecond.read("$.version", Long.class)).isEqualTo(2);
        assertThat(readSecond.read("$.write_count", Long.class)).isEqualTo(2);
    }

    @Test
    @Order(2)
    void countsWritesAndReadsExactly() throws SQLException {
        String key = "e2e-counts-" + System.nanoTime();
        int writes = 7;
        int reads = 11;
        long totalReadsBefore = readStats().read("$.total_reads", Long.class);

        for (int i = 1; i <= writes; i++) {
            ok(write().postJson("/write", body(key, "v" + i)));
        }
        for (int i = 1; i <= reads; i++) {
            var record = json(ok(readAtLeast(key, writes)));
            assertThat(record.read("$.write_count", Long.class)).isEqualTo(writes);
            assertThat(record.read("$.read_count", Long.class)).isEqualTo(i);
            assertThat(record.read("$.value", String.class)).isEqualTo("v" + writes);
        }

        // Read counts are flushed in batches (every 200 ms here): the stored figures become exact, never more.
        await().atMost(PROJECTED).untilAsserted(() -> {
            assertThat(storedCounts(key)).containsExactly((long) writes, (long) reads);
            assertThat(readStats().read("$.total_reads", Long.class)).isEqualTo(totalReadsBefore + reads);
        });
    }

    @Test
    @Order(3)
    void deletedKeysReadNotFound() {
        String key = "e2e-delete-" + System.nanoTime();
        ok(write().postJson("/write", body(key, "doomed")));
        ok(readAtLeast(key, 1));

        var deleted = json(ok(write().delete("/write/" + LocalHttp.segment(key))));
        assertThat(deleted.read("$.deleted", Boolean.class)).isTrue();
        assertThat(deleted.read("$.version", Long.class)).isEqualTo(2);

        var notFound = readAtLeast(key, 2);
        assertThat(notFound.statusCode()).as(notFound.body()).isEqualTo(404);
        assertThat(json(notFound).read("$.success", Boolean.class)).isFalse();
        assertThat(read().get("/read/" + LocalHttp.segment(key)).statusCode()).isEqualTo(404);
        assertThat(write().delete("/write/" + LocalHttp.segment(key)).statusCode())
                .isEqualTo(404);
    }

    @Test
    @Order(4)
    void statsMoveOnBothSides() {
        String prefix = "e2e-stats-" + System.nanoTime() + "-";
        var writeBefore = writeStats();
        var readBefore = readStats();

        for (int i = 0; i < 3; i++) {
            ok(write().postJson("/write", body(prefix + i, "v")));
        }
        ok(write().delete("/write/" + prefix + "0"));
        ok(readAtLeast(prefix + "1", 1));
        ok(readAtLeast(prefix + "2", 1));

        var writeAfter = writeStats();
        assertThat(delta(writeBefore, writeAfter, "$.commands")).isEqualTo(4);
        assertThat(delta(writeBefore, writeAfter, "$.writes")).isEqualTo(3);
        assertThat(delta(writeBefore, writeAfter, "$.deletes")).isEqualTo(1);
        await().atMost(PROJECTED).untilAsserted(() -> {
            var readAfter = readStats();
            assertThat(delta(readBefore, readAfter, "$.events_published")).isEqualTo(4);
            assertThat(delta(readBefore, readAfter, "$.events_projected")).isEqualTo(4);
            assertThat(delta(readBefore, readAfter, "$.records")).isEqualTo(2);
            assertThat(delta(readBefore, readAfter, "$.total_writes")).isEqualTo(3);
            assertThat(delta(readBefore, readAfter, "$.total_reads")).isEqualTo(2);
            assertThat(readAfter.read("$.stream.name", String.class)).isEqualTo(stack().stream());
            assertThat(readAfter.read("$.stream.pending", Long.class)).isZero();
        });
    }

    @Test
    @Order(5)
    void healthIsDegradedWhileTheProjectorIsDownWithWorkWaiting() {
        await().atMost(PROJECTED).until(() -> "UP".equals(health().read("$.status", String.class)));

        stack().projector.kill();
        String key = "e2e-health-" + System.nanoTime();
        ok(write().postJson("/write", body(key, "waiting")));

        // The threshold is 1 s here: the entry nobody projects ages past it.
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            var health = health();
            assertThat(health.read("$.status", String.class)).isEqualTo("DEGRADED");
            assertThat(health.read("$.projection.healthy", Boolean.class)).isFalse();
            assertThat(health.read("$.projection.lag_seconds", Double.class)).isGreaterThan(1.0);
        });
        assertThat(read().get("/health").statusCode()).isEqualTo(200);

        stack().projector.start().awaitReady();
        await().atMost(PROJECTED).untilAsserted(() -> {
            var health = health();
            assertThat(health.read("$.status", String.class)).isEqualTo("UP");
            assertThat(health.read("$.projection.lag_seconds", Double.class)).isZero();
        });
        assertThat(json(ok(readAtLeast(key, 1))).read("$.value", String.class)).isEqualTo("waiting");
    }

    @Test
    @Order(6)
    void losesNoEventWhenTheProjectorIsKilledDuringABurstOfWrites() throws Exception {
        String prefix = "e2e-burst-" + System.nanoTime() + "-";
        try (var burst = new Burst(prefix, 25)) {
            burst.start();
            burst.awaitAccepted(300);
            stack().projector.kill();
            System.out.println("Killed the projector (SIGKILL) after " + burst.accepted() + " accepted writes");
            burst.awaitAccepted(burst.accepted() + 300);
            stack().projector.start().awaitReady();
            System.out.println("Projector ready again after " + burst.accepted() + " accepted writes");
            burst.awaitAccepted(burst.accepted() + 300);
            burst.stop();
            System.out.println("Burst over after " + burst.accepted() + " accepted writes");
            assertThat(burst.failures())
                    .as("requests answered other than 200 (or 404 for a delete)")
                    .isEmpty();
        }

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            Map<String, Row> written = writeSide(prefix);
            assertThat(written).hasSize(25);
            assertThat(readSide(prefix)).isEqualTo(written);
        });
        // Every accepted write of the whole run is in the read model, once (the version guard absorbs redelivery).
        await().atMost(PROJECTED)
                .untilAsserted(() -> assertThat(readStats().read("$.total_writes", Long.class))
                        .isEqualTo(writeStats().read("$.writes", Long.class)));
    }

    /** Concurrent writes (and some deletes) at a bounded pace, on a few keys, until stopped. */
    private static final class Burst implements AutoCloseable {
        private final HttpClient client =
                HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
        private final String prefix;
        private final int keys;
        private final AtomicLong accepted = new AtomicLong();
        private final AtomicInteger sequence = new AtomicInteger();
        private final List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());

        Burst(String prefix, int keys) {
            this.prefix = prefix;
            this.keys = keys;
        }

        /** Four requests in flight every 10 ms tick at most: a few hundred writes a second, enough to interleave. */
        void start() {
            ticker.scheduleAtFixedRate(
                    () -> {
                        try {
                            var inFlight = new ArrayList<CompletableFuture<?>>();
                            for (int i = 0; i < 4; i++) {
                                inFlight.add(send(sequence.incrementAndGet()));
                            }
                            CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new))
                                    .orTimeout(30, TimeUnit.SECONDS)
                                    .exceptionally(e -> null)
                                    .join();
                        } catch (RuntimeException | Error e) {
                            failures.add("the burst itself: " + e); // a scheduled task that throws stops silently
                            throw e;
                        }
                    },
                    0,
                    10,
                    TimeUnit.MILLISECONDS);
        }

        private CompletableFuture<?> send(int n) {
            String key = prefix + (n % keys);
            boolean delete = n % 20 == 0;
            var request = delete
                    ? HttpRequest.newBuilder(uri("/write/" + LocalHttp.segment(key)))
                            .DELETE()
                    : HttpRequest.newBuilder(uri("/write"))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body(key, "value-" + n)));
            return client.sendAsync(
                            request.header("Authorization", "Bearer " + TestApiKeys.WRITER)
                                    .timeout(Duration.ofSeconds(20))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .whenComplete((response, error) -> {
                        if (error != null) {
                            failures.add(key + ": " + error);
                        } else if (response.statusCode() == 200) {
                            accepted.incrementAndGet();
                        } else if (!(delete && response.statusCode() == 404)) {
                            failures.add(key + ": " + response.statusCode() + " " + response.body());
                        }
                    });
        }

        private static URI uri(String path) {
            return write().uri(path);
        }

        long accepted() {
            return accepted.get();
        }

        void awaitAccepted(long count) {
            await().atMost(Duration.ofSeconds(30))
                    .failFast("a request failed", () -> !failures.isEmpty())
                    .until(() -> accepted.get() >= count);
        }

        List<String> failures() {
            return List.copyOf(failures);
        }

        void stop() throws InterruptedException {
            ticker.shutdown();
            assertThat(ticker.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        }

        @Override
        public void close() {
            ticker.shutdownNow();
            client.close();
        }
    }

    record Row(
            long version,
            long writeCount,
            boolean deleted,
            @Nullable String value) {}

    private static Map<String, Row> writeSide(String prefix) throws SQLException {
        try (Connection connection = stack().writeDatabase()) {
            return rows(
                    connection,
                    "select s.key, s.version, s.write_count, s.deleted, c.value from key_state s"
                            + " join commands c on c.key = s.key and c.version = s.version where s.key like ?",
                    prefix);
        }
    }

    private static Map<String, Row> readSide(String prefix) throws SQLException {
        try (Connection connection = stack().readDatabase()) {
            return rows(
                    connection,
                    "select key, version, write_count, deleted, value from records where key like ?",
                    prefix);
        }
    }

    private static Map<String, Row> rows(Connection connection, String sql, String prefix) throws SQLException {
        try (var statement = connection.prepareStatement(sql)) {
            statement.setString(1, prefix + "%");
            try (var result = statement.executeQuery()) {
                var rows = new HashMap<String, Row>();
                while (result.next()) {
                    rows.put(
                            result.getString(1),
                            new Row(result.getLong(2), result.getLong(3), result.getBoolean(4), result.getString(5)));
                }
                return rows;
            }
        }
    }

    private static List<Long> storedCounts(String key) throws SQLException {
        try (Connection connection = stack().readDatabase();
                var statement =
                        connection.prepareStatement("select write_count, read_count from records where key = ?")) {
            statement.setString(1, key);
            try (var result = statement.executeQuery()) {
                return result.next() ? List.of(result.getLong(1), result.getLong(2)) : List.of();
            }
        }
    }

    private static HttpResponse<String> readAtLeast(String key, long version) {
        return read().get("/read/" + LocalHttp.segment(key) + "?min_version=" + version + "&wait_ms=5000");
    }

    private static DocumentContext writeStats() {
        return json(ok(write().get("/stats")));
    }

    private static DocumentContext readStats() {
        return json(ok(read().get("/stats")));
    }

    private static DocumentContext health() {
        return json(read().get("/health"));
    }

    private static long delta(DocumentContext before, DocumentContext after, String path) {
        return after.read(path, Long.class) - before.read(path, Long.class);
    }

    private static HttpResponse<String> ok(HttpResponse<String> response) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return response;
    }

    private static DocumentContext json(HttpResponse<String> response) {
        return JsonPath.parse(response.body());
    }

    private static String body(String key, String value) {
        return "{\"key\":\"" + key + "\",\"value\":\"" + value + "\"}";
    }
}
