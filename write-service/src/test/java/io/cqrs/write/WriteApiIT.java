package io.cqrs.write;

import static org.assertj.core.api.Assertions.assertThat;

import com.jayway.jsonpath.DocumentContext;
import com.jayway.jsonpath.JsonPath;
import io.cqrs.events.EventCodec;
import io.cqrs.events.EventFixtures;
import io.cqrs.events.RecordDeleted;
import io.cqrs.events.RecordWritten;
import io.cqrs.stream.RedisConnections;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.TestStream;
import io.lettuce.core.Range;
import io.lettuce.core.RedisURI;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.StatefulRedisConnection;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;

@WriteServiceTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WriteApiIT {

    @LocalServerPort
    int port;

    @LocalManagementPort
    int managementPort;

    @Autowired
    JdbcClient jdbc;

    @Autowired
    TestStream stream;

    LocalHttp http;

    @Autowired
    RedisConnections connections;

    StatefulRedisConnection<String, String> redis;

    @BeforeAll
    void connect() {
        redis = connections.open(RedisURI.DEFAULT_TIMEOUT_DURATION);
    }

    @AfterAll
    void disconnect() {
        redis.close();
    }

    @BeforeEach
    void client() {
        http = new LocalHttp(port);
    }

    @Nested
    class Write {

        @Test
        void answersWithVersionsAndPublishesTheEventInTheContractsShape() {
            String key = key("user/1");

            var body = ok(http.postJson("/write", json(key, "{\"name\": \"Ada\"}")));

            assertThat(body.read("$.success", Boolean.class)).isTrue();
            assertThat(body.read("$.key", String.class)).isEqualTo(key);
            assertThat(body.read("$.version", Long.class)).isEqualTo(1);
            assertThat(body.read("$.write_count", Long.class)).isEqualTo(1);
            assertThat(body.read("$.message", String.class)).contains("event published");
            var entry = entry(body.read("$.event_id", String.class));
            assertThat(entry.getBody().keySet())
                    .containsExactlyElementsOf(EventFixtures.writtenFields().keySet());
            assertThat(EventCodec.decode(entry.getBody())).isInstanceOfSatisfying(RecordWritten.class, e -> {
                assertThat(e.commandId()).isEqualTo(body.read("$.command_id", Long.class));
                assertThat(e.key()).isEqualTo(key);
                assertThat(e.value()).isEqualTo("{\"name\": \"Ada\"}");
                assertThat(e.version()).isEqualTo(1);
            });
        }

        @Test
        void thePlainWriteIsAnsweredAsTheControllerAnswersIt() {
            // Without an Idempotency-Key a JSON write takes PlainWriteFilter; with one, the controller.
            var plain = http.postJson("/write", json(key("plain"), "v"));
            var routed = http.postJson("/write", json(key("routed"), "v"), "Idempotency-Key", key("first"));

            assertThat(plain.statusCode()).isEqualTo(routed.statusCode()).isEqualTo(200);
            assertThat(plain.headers().firstValue("Content-Type"))
                    .isEqualTo(routed.headers().firstValue("Content-Type"));
            assertThat(fieldNames(plain.body())).isEqualTo(fieldNames(routed.body()));
        }

        @Test
        void aBodyInAnotherCharsetIsReadInIt() {
            String key = key("latin1");
            var request = java.net.http.HttpRequest.newBuilder(http.uri("/write"))
                    .header("Content-Type", "application/json; charset=ISO-8859-1")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                            json(key, "caf\u00e9"), java.nio.charset.StandardCharsets.ISO_8859_1));

            ok(http.send(request));

            assertThat(jdbc.sql("select value from commands where key = ?")
                            .param(key)
                            .query(String.class)
                            .single())
                    .isEqualTo("caf\u00e9");
        }

        @Test
        void putBehavesLikePost() {
            String key = key("put");
            ok(http.postJson("/write", json(key, "a")));

            var body = ok(http.putJson("/write", json(key, "b")));

            assertThat(body.read("$.version", Long.class)).isEqualTo(2);
            assertThat(body.read("$.write_count", Long.class)).isEqualTo(2);
        }

        @Test
        void fiftyConcurrentWritesToOneKeyGetVersionsOneToFiftyOnceEach() throws Exception {
            String key = key("hot");
            var calls = new ArrayList<Callable<Long>>();
            for (int i = 0; i < 50; i++) {
                String value = "v" + i;
                calls.add(() -> ok(http.postJson("/write", json(key, value))).read("$.version", Long.class));
            }
            var versions = new ArrayList<Long>();
            try (var pool = Executors.newFixedThreadPool(16)) {
                for (var future : pool.invokeAll(calls)) {
                    versions.add(future.get());
                }
            }

            assertThat(versions)
                    .containsExactlyInAnyOrderElementsOf(java.util.stream.LongStream.rangeClosed(1, 50)
                            .boxed()
                            .toList());
            assertThat(jdbc.sql("select version, write_count from key_state where key = ?")
                            .param(key)
                            .query((rs, row) -> List.of(rs.getLong(1), rs.getLong(2)))
                            .single())
                    .containsExactly(50L, 50L);
        }

        @ParameterizedTest
        @ValueSource(strings = {"a/b/c", "with spaces", "naïve ключ 🔑", "100%", "plus+sign", "?&=#"})
        void acceptsAnyKeyWithoutControlCharactersAndDeletesItByItsEncodedPath(String name) {
            String key = key(name);
            ok(http.postJson("/write", json(key, "v")));

            var body = ok(http.delete("/write/" + LocalHttp.segment(key)));

            assertThat(body.read("$.key", String.class)).isEqualTo(key);
            assertThat(body.read("$.deleted", Boolean.class)).isTrue();
        }

        @ParameterizedTest
        @CsvSource(
                delimiter = '|',
                value = {
                    "{\"value\": \"v\"}| key",
                    "{\"key\": \"\", \"value\": \"v\"}| key",
                    "{\"key\": \"a\\u0001b\", \"value\": \"v\"}| key",
                    "{\"key\": \"k\", \"value\": 5}| value",
                    "{\"key\": \"k\", \"value\": null}| value",
                    "{\"key\": \"k\", \"value\": \"nul\\u0000\"}| value",
                    "{\"key\": \"k\", \"value\": \"\\ud800\"}| value"
                })
        void refusesABadCommandWithItsViolationsAndWritesNothing(String body, String field) {
            long before = commands();

            var response = http.postJson("/write", body);

            var problem = problem(response, 400, "urn:cqrs:problem:invalid-command");
            assertThat(problem.read("$.violations[0].field", String.class)).isEqualTo(field);
            assertThat(commands()).isEqualTo(before);
        }

        @Test
        void refusesAValueOverTheByteLimit() {
            var problem = problem(http.postJson("/write", json(key("big"), "x".repeat(1025))), 400, null);

            assertThat(problem.read("$.violations[0].message", String.class))
                    .isEqualTo("must be at most 1024 bytes in UTF-8, was 1025");
        }

        @Test
        void refusesMalformedJson() {
            problem(http.postJson("/write", "{\"key\": "), 400, "urn:cqrs:problem:malformed-request");
        }

        @Test
        void refusesOtherContentTypes() {
            var response = http.send(java.net.http.HttpRequest.newBuilder(http.uri("/write"))
                    .header("Content-Type", "text/plain")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString("key=k")));

            problem(response, 415, null);
        }

        @Test
        void refusesABodyOverTheSizeLimit() {
            long before = commands();

            problem(
                    http.postJson("/write", json(key("huge"), "x".repeat(20_000))),
                    413,
                    "urn:cqrs:problem:payload-too-large");
            assertThat(commands()).isEqualTo(before);
        }
    }

    @Nested
    class Batch {

        @Test
        void appliesAllCommandsInOneTransaction() {
            String a = key("a");
            String b = key("b");

            var body = ok(http.postJson(
                    "/write/batch",
                    "{\"commands\": [" + json(a, "1") + "," + json(b, "2") + "," + json(a, "3") + "]}"));

            assertThat(body.read("$.count", Integer.class)).isEqualTo(3);
            assertThat(body.read("$.results[*].version", List.class)).containsExactly(1, 1, 2);
            assertThat(jdbc.sql("select count(distinct created_at) from commands where key in (?, ?)")
                            .params(a, b)
                            .query(Long.class)
                            .single())
                    .isEqualTo(1);
        }

        @Test
        void aHalfBadBatchWritesNothingAndNamesTheBadCommands() {
            long before = commands();
            String good = key("good");

            var problem = problem(
                    http.postJson(
                            "/write/batch",
                            "{\"commands\": [" + json(good, "1")
                                    + ", {\"key\": \"k\", \"value\": 1}, {\"key\": \"\"}]}"),
                    400,
                    "urn:cqrs:problem:invalid-command");

            assertThat(problem.read("$.violations[*].field", List.class))
                    .containsExactly("commands[1].value", "commands[2].key", "commands[2].value");
            assertThat(commands()).isEqualTo(before);
        }

        @Test
        void refusesMoreCommandsThanTheLimit() {
            var commands = new ArrayList<String>();
            for (int i = 0; i < 51; i++) {
                commands.add(json(key("many"), "v"));
            }

            problem(http.postJson("/write/batch", "{\"commands\": [" + String.join(",", commands) + "]}"), 400, null);
        }
    }

    @Nested
    class Delete {

        @Test
        void leavesATombstoneVersionAndPublishesTheDelete() {
            String key = key("gone");
            ok(http.postJson("/write", json(key, "v")));

            var body = ok(http.delete("/write/" + LocalHttp.segment(key)));

            assertThat(body.read("$.version", Long.class)).isEqualTo(2);
            assertThat(body.read("$.write_count", Long.class)).isEqualTo(1);
            assertThat(EventCodec.decode(
                            entry(body.read("$.event_id", String.class)).getBody()))
                    .isInstanceOf(RecordDeleted.class);
        }

        @Test
        void answersNotFoundForAKeyNeverWrittenOrAlreadyDeleted() {
            String key = key("never");
            problem(http.delete("/write/" + LocalHttp.segment(key)), 404, "urn:cqrs:problem:record-not-found");

            ok(http.postJson("/write", json(key, "v")));
            ok(http.delete("/write/" + LocalHttp.segment(key)));
            problem(http.delete("/write/" + LocalHttp.segment(key)), 404, "urn:cqrs:problem:record-not-found");
        }

        @ParameterizedTest
        @ValueSource(strings = {"back\\slash", "per%cent", "sla/sh", "ünï €"})
        void deletesAnyKeyThatCanBeWritten(String name) {
            String key = key(name);
            ok(http.postJson("/write", json(key, "v")));

            var body = ok(http.delete("/write/" + LocalHttp.segment(key)));

            assertThat(body.read("$.key", String.class)).isEqualTo(key);
            assertThat(body.read("$.version", Long.class)).isEqualTo(2);
        }

        /**
         * Keys made of dot segments, exactly (a suffix would make them ordinary): a path normalised on the way in
         * would delete another key, or none. Deleted once by the path a client builds (dots left as they are), once
         * with every dot percent-encoded.
         */
        @ParameterizedTest
        @ValueSource(strings = {".", "..", "...", "./", "/.", "a/..", "../x", "a/./b", "..\\..", "%2e%2e", ".;x"})
        void deletesKeysThatLookLikeRelativePathSegments(String key) {
            ok(http.postJson("/write", json(key, "v")));
            var plain = ok(http.delete("/write/" + LocalHttp.segment(key)));
            ok(http.postJson("/write", json(key, "again")));
            var encoded = ok(http.delete("/write/" + LocalHttp.segment(key).replace(".", "%2E")));

            assertThat(plain.read("$.key", String.class)).isEqualTo(key);
            assertThat(plain.read("$.version", Long.class)).isEqualTo(2);
            assertThat(encoded.read("$.key", String.class)).isEqualTo(key);
            assertThat(encoded.read("$.version", Long.class)).isEqualTo(4);
        }

        @Test
        void concurrentDeletesOfAKeyNeverWrittenSharingAnIdempotencyKeyAllAnswerNotFound() throws Exception {
            var answers = new ArrayList<java.util.concurrent.Future<HttpResponse<String>>>();
            try (var clients = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int pair = 0; pair < 100; pair++) {
                    String path = "/write/" + LocalHttp.segment(key("never-" + pair));
                    String idempotencyKey = UUID.randomUUID().toString();
                    for (int twin = 0; twin < 2; twin++) {
                        answers.add(clients.submit(() -> http.delete(path, "Idempotency-Key", idempotencyKey)));
                    }
                }
            }
            for (var answer : answers) {
                problem(answer.get(), 404, "urn:cqrs:problem:record-not-found");
            }
        }

        @Test
        void aWriteAfterADeleteBringsTheKeyBackWithTheNextVersion() {
            String key = key("back");
            ok(http.postJson("/write", json(key, "v")));
            ok(http.delete("/write/" + LocalHttp.segment(key)));

            var body = ok(http.postJson("/write", json(key, "again")));

            assertThat(body.read("$.version", Long.class)).isEqualTo(3);
            assertThat(body.read("$.write_count", Long.class)).isEqualTo(2);
        }
    }

    @Nested
    class Idempotency {

        @Test
        void aRetryReturnsTheFirstResultAndWritesNothing() {
            String key = key("retry");
            String idempotencyKey = UUID.randomUUID().toString();
            var first = ok(http.postJson("/write", json(key, "v"), "Idempotency-Key", idempotencyKey));
            long before = commands();

            var retry = http.postJson("/write", json(key, "v"), "Idempotency-Key", idempotencyKey);

            assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
            var again = ok(retry);
            assertThat(again.read("$.command_id", Long.class)).isEqualTo(first.read("$.command_id", Long.class));
            assertThat(again.read("$.version", Long.class)).isEqualTo(1);
            assertThat(commands()).isEqualTo(before);
        }

        @Test
        void theSameKeyWithAnotherBodyIsRefused() {
            String idempotencyKey = UUID.randomUUID().toString();
            ok(http.postJson("/write", json(key("x"), "v"), "Idempotency-Key", idempotencyKey));

            problem(
                    http.postJson("/write", json(key("x"), "other"), "Idempotency-Key", idempotencyKey),
                    422,
                    "urn:cqrs:problem:idempotency-key-reused");
        }

        @Test
        void concurrentRetriesApplyTheRequestOnce() throws Exception {
            String key = key("storm");
            String idempotencyKey = UUID.randomUUID().toString();
            var calls = new ArrayList<Callable<Long>>();
            for (int i = 0; i < 20; i++) {
                calls.add(() -> ok(http.postJson(
                                "/write/batch",
                                "{\"commands\": [" + json(key, "v") + "]}",
                                "Idempotency-Key",
                                idempotencyKey))
                        .read("$.results[0].command_id", Long.class));
            }
            var ids = new ArrayList<Long>();
            try (var pool = Executors.newFixedThreadPool(20)) {
                for (var future : pool.invokeAll(calls)) {
                    ids.add(future.get());
                }
            }

            assertThat(ids).containsOnly(ids.getFirst());
            assertThat(jdbc.sql("select count(*) from commands where key = ?")
                            .param(key)
                            .query(Long.class)
                            .single())
                    .isEqualTo(1);
        }
    }

    @Test
    void statsCountCommandsAndAnEmptyBacklog() {
        long before = ok(http.get("/stats")).read("$.commands", Long.class);
        ok(http.postJson("/write", json(key("stats"), "v")));

        var stats = ok(http.get("/stats"));

        assertThat(stats.read("$.commands", Long.class)).isEqualTo(before + 1);
        assertThat(stats.read("$.outbox_backlog", Long.class)).isNotNegative();
    }

    @Test
    void exposesTheWriteMetrics() {
        ok(http.postJson("/write", json(key("metrics"), "v")));

        assertThat(new LocalHttp(managementPort).get("/actuator/prometheus").body())
                .contains("cqrs_write_commands_total{")
                .contains("op=\"write\"")
                .contains("result=\"applied\"")
                .contains("cqrs_outbox_backlog")
                .contains("cqrs_outbox_oldest_age_seconds")
                .contains("cqrs_outbox_published_total")
                .contains("cqrs_outbox_publish_failures_total")
                .contains("cqrs_write_group_commands_bucket")
                .contains("http_server_requests_seconds_bucket")
                .containsPattern("cqrs_stage_seconds_count\\{[^}]*stage=\"commit_to_xadd\"[^}]*} [1-9]");
    }

    private static java.util.Set<String> fieldNames(String json) {
        return new java.util.TreeSet<>(tools.jackson.databind.json.JsonMapper.builder()
                .build()
                .readTree(json)
                .propertyNames());
    }

    private long commands() {
        return jdbc.sql("select count(*) from commands").query(Long.class).single();
    }

    private StreamMessage<String, String> entry(String id) {
        List<StreamMessage<String, String>> entries = redis.sync().xrange(stream.name(), Range.create(id, id));
        assertThat(entries).hasSize(1);
        return entries.getFirst();
    }

    static String key(String name) {
        return name + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static String json(String key, String value) {
        return "{\"key\": " + quote(key) + ", \"value\": " + quote(value) + "}";
    }

    private static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    static DocumentContext ok(HttpResponse<String> response) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return JsonPath.parse(response.body());
    }

    static DocumentContext problem(HttpResponse<String> response, int status, String type) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(t -> assertThat(t).startsWith("application/problem+json"));
        var problem = JsonPath.parse(response.body());
        assertThat(problem.read("$.success", Boolean.class)).isFalse();
        assertThat(problem.read("$.detail", String.class)).isNotBlank();
        if (type != null) {
            assertThat(problem.read("$.type", String.class)).isEqualTo(type);
        }
        return problem;
    }
}
