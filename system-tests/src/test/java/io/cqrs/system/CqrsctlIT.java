package io.cqrs.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.jayway.jsonpath.JsonPath;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.TestApiKeys;
import io.cqrs.testsupport.TestRedis;
import io.lettuce.core.RedisClient;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code bin/cqrsctl} as an operator runs it, against the three services running as processes: the group's status,
 * a pause and a resume of the whole group, a dead letter listed, redriven and purged, a small rebuild followed to its
 * end, the audit log, and clear refusals.
 */
class CqrsctlIT {

    private static final Path CQRSCTL =
            Path.of("..").toAbsolutePath().normalize().resolve("bin/cqrsctl");
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    private static @Nullable Stack stack;

    /** What one run of the tool printed, and its exit status. */
    record Run(int status, String out, String err) {}

    @BeforeAll
    static void startStack() {
        stack = new Stack(
                        Map.of("CQRS_REBUILD_SETTLE", "500ms", "PROJECTOR_TRIM_INTERVAL", "1s"),
                        Map.of("CQRS_READ_COUNT_FLUSH_INTERVAL", "200ms"))
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

    @Test
    void showsTheGroupThenPausesAndResumesItAndTheAuditSaysWhoDidIt() {
        String key = "cli-pause-" + System.nanoTime();
        write(key, "before");
        readAtVersion(key, 1);

        var status = cqrsctl("status");
        assertThat(status.status()).as(status.toString()).isZero();
        assertThat(status.out()).contains("group projector", "running", " *");

        var paused = cqrsctl("pause", "--group");
        assertThat(paused.status()).as(paused.toString()).isZero();
        assertThat(paused.out()).contains("PAUSED (whole group)");
        write(key, "while paused");
        var lagging = stack().read.http().as(TestApiKeys.READER).get("/read/" + key + "?min_version=2&wait_ms=1500");
        assertThat(lagging.statusCode())
                .as("not projected while the group is paused")
                .isEqualTo(503);

        var resumed = cqrsctl("resume", "--group");
        assertThat(resumed.status()).as(resumed.toString()).isZero();
        assertThat(JsonPath.parse(readAtVersion(key, 2).body()).read("$.value", String.class))
                .isEqualTo("while paused");

        var audit = cqrsctl("audit", "--limit", "5");
        assertThat(audit.status()).as(audit.toString()).isZero();
        assertThat(audit.out()).contains("test-admin", "projector.pause", "projector.resume", "succeeded");
    }

    @Test
    void listsRedrivesAndPurgesADeadLetter() {
        // A poison entry (no event type), as a broken writer would leave: the projector dead-letters it.
        String poison;
        try (var redis = RedisClient.create(TestRedis.url());
                var connection = redis.connect()) {
            poison = connection.sync().xadd(stack().stream(), Map.of("key", "cli-poison", "note", "no type"));
        }
        await().atMost(PATIENCE)
                .untilAsserted(() -> assertThat(cqrsctl("dlq", "list").out()).contains(poison));
        var reasons = cqrsctl("dlq", "reasons");
        assertThat(reasons.status()).as(reasons.toString()).isZero();
        assertThat(reasons.out()).contains("total 1");

        String deadLetter = cqrsctl("--json", "dlq", "list").out();
        String id = JsonPath.parse(deadLetter).read("$.entries[0].id", String.class);
        var redriven = cqrsctl("dlq", "redrive", "--id", id);
        assertThat(redriven.status()).as(redriven.toString()).isZero();
        assertThat(redriven.out()).contains("redriven 1 entries");
        // Still poison for this projector: it comes back, dead-lettered anew from its new stream id.
        await().atMost(PATIENCE).untilAsserted(() -> {
            var again = JsonPath.parse(cqrsctl("--json", "dlq", "list").out());
            assertThat(again.read("$.total", Long.class)).isEqualTo(1);
            assertThat(again.read("$.entries[0].id", String.class)).isNotEqualTo(id);
        });

        var purged = cqrsctl("dlq", "purge", "--all");
        assertThat(purged.status()).as(purged.toString()).isZero();
        assertThat(purged.out()).contains("purged 1 dead letters");
        assertThat(JsonPath.parse(cqrsctl("--json", "dlq", "list").out()).read("$.total", Long.class))
                .isZero();
    }

    @Test
    void rebuildsAPrefixToTheEndAndKeepsTheReadCounts() {
        String prefix = "cli-rebuild-" + System.nanoTime() + "-";
        var commands = IntStream.range(0, 50)
                .mapToObj(i -> "{\"key\":\"" + prefix + i + "\",\"value\":\"v" + i + "\"}")
                .collect(Collectors.joining(",", "{\"commands\":[", "]}"));
        assertThat(stack().write
                        .http()
                        .as(TestApiKeys.WRITER)
                        .postJson("/write/batch", commands)
                        .statusCode())
                .isEqualTo(200);
        for (int i = 0; i < 3; i++) {
            readAtVersion(prefix + "7", 1);
        }
        await().atMost(PATIENCE)
                .untilAsserted(() -> assertThat(storedReadCount(prefix + "7")).isEqualTo(3));

        var rebuild = cqrsctl("rebuild", "start", "--prefix", prefix, "--wait");
        assertThat(rebuild.status()).as(rebuild.toString()).isZero();
        assertThat(rebuild.out()).contains(": done", "keys 50/50");

        var record = JsonPath.parse(readAtVersion(prefix + "7", 1).body());
        assertThat(record.read("$.value", String.class)).isEqualTo("v7");
        assertThat(record.read("$.read_count", Long.class))
                .as("read counts carried over")
                .isEqualTo(4);
        assertThat(cqrsctl("rebuild", "status").out()).contains(": done");
    }

    @Test
    void saysClearlyWhenTheKeyIsWrongOrTheProjectorIsAway() {
        var unknown = cqrsctl(Map.of("CQRS_ADMIN_KEY", "not-a-key"), "status");
        assertThat(unknown.status()).isEqualTo(1);
        assertThat(unknown.err()).contains("401");

        var reader = cqrsctl(Map.of("CQRS_ADMIN_KEY", TestApiKeys.READER), "status");
        assertThat(reader.status()).isEqualTo(1);
        assertThat(reader.err()).contains("403", "admin scope");

        var away = run(List.of("--url", "http://127.0.0.1:1", "status"), Map.of("CQRS_ADMIN_KEY", TestApiKeys.ADMIN));
        assertThat(away.status()).isEqualTo(2);
        assertThat(away.err()).contains("cannot reach the projector");
    }

    private static Run cqrsctl(String... arguments) {
        return cqrsctl(Map.of("CQRS_ADMIN_KEY", TestApiKeys.ADMIN), arguments);
    }

    private static Run cqrsctl(Map<String, String> environment, String... arguments) {
        var all = new ArrayList<String>();
        all.add("--url");
        all.add("http://127.0.0.1:" + stack().projector.management().port());
        all.addAll(List.of(arguments));
        return run(all, environment);
    }

    private static Run run(List<String> arguments, Map<String, String> environment) {
        var command = new ArrayList<String>();
        command.add("python3");
        command.add(CQRSCTL.toString());
        command.addAll(arguments);
        var builder = new ProcessBuilder(command);
        builder.environment().remove("CQRS_ADMIN_KEY_FILE");
        builder.environment().remove("CQRS_PROJECTOR_URL");
        builder.environment().putAll(environment);
        try {
            var process = builder.start();
            var out = process.getInputStream().readAllBytes();
            var err = process.getErrorStream().readAllBytes();
            assertThat(process.waitFor(60, TimeUnit.SECONDS))
                    .as("cqrsctl ended")
                    .isTrue();
            return new Run(
                    process.exitValue(),
                    new String(out, StandardCharsets.UTF_8),
                    new String(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("could not run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void write(String key, String value) {
        var answer = stack().write
                .http()
                .as(TestApiKeys.WRITER)
                .postJson("/write", "{\"key\":\"" + key + "\",\"value\":\"" + value + "\"}");
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    }

    private static HttpResponse<String> readAtVersion(String key, long version) {
        var answer = stack().read
                .http()
                .as(TestApiKeys.READER)
                .get("/read/" + LocalHttp.segment(key) + "?min_version=" + version + "&wait_ms=10000");
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        return answer;
    }

    private static long storedReadCount(String key) throws Exception {
        try (var connection = stack().readDatabase();
                var statement = connection.prepareStatement("select read_count from records where key = ?")) {
            statement.setString(1, key);
            try (var rows = statement.executeQuery()) {
                return rows.next() ? rows.getLong(1) : -1;
            }
        }
    }
}
