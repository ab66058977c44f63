package io.cqrs.read.query;

import static io.cqrs.read.ReadHttp.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.read.ProjectorDouble;
import io.cqrs.read.ReadHttp;
import io.cqrs.read.ReadServiceTest;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;

@ReadServiceTest
class ReadControllerIT {

    @LocalServerPort
    int port;

    @Autowired
    ProjectorDouble projector;

    @Autowired
    MeterRegistry meters;

    ReadHttp http;

    @BeforeEach
    void setUp() {
        http = new ReadHttp(port);
    }

    /** Requests waiting for a version right now, as the service reports them. */
    double waiting() {
        return meters.get("cqrs.read.waiters").gauge().value();
    }

    /** Events timed so far in one stage of the way from commit to visible ({@code cqrs_stage_seconds}). */
    long timedIn(String stage) {
        return meters.get("cqrs.stage").tag("stage", stage).timer().count();
    }

    static String uniqueKey(String prefix) {
        return prefix + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    }

    @Nested
    @ExtendWith(OutputCaptureExtension.class)
    class Read {

        @Test
        void returnsTheRecordWithEveryFieldAndCountsThisRead() {
            String key = uniqueKey("shape-");
            projector.write(key, "hello", 3);

            HttpResponse<String> first = http.read(key);
            HttpResponse<String> second = http.read(key);

            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(first.headers().firstValue("Content-Type"))
                    .hasValueSatisfying(type -> assertThat(type).startsWith("application/json"));
            Map<String, Object> body = json(first).read("$");
            assertThat(body)
                    .containsOnlyKeys(
                            "success",
                            "key",
                            "value",
                            "version",
                            "read_count",
                            "write_count",
                            "created_at",
                            "updated_at",
                            "from_read_db")
                    .containsEntry("success", true)
                    .containsEntry("key", key)
                    .containsEntry("value", "hello")
                    .containsEntry("version", 3)
                    .containsEntry("read_count", 1)
                    .containsEntry("write_count", 3)
                    .containsEntry("from_read_db", true);
            assertThat(Instant.parse((String) body.get("created_at"))).isBefore(Instant.now());
            assertThat((String) body.get("updated_at")).endsWith("Z");
            assertThat(json(second).read("$.read_count", Integer.class)).isEqualTo(2);
        }

        @Test
        void answersThePlainReadLikeTheReadWithParametersAndCountsBothInTheSameMetrics() {
            // The plain read is served by PlainReadFilter, the other one by the controller: the filter leaves every
            // parameter but min_version and wait_ms to it, and the controller ignores one it does not know.
            String key = uniqueKey("same-");
            projector.write(key, "twice", 2);
            double requestsBefore = requests("/read/{key}");
            double foundBefore = meters.get("cqrs.read.requests")
                    .tag("result", "found")
                    .counter()
                    .count();

            Map<String, Object> plain = json(http.read(key)).read("$");
            Map<String, Object> withParameters =
                    json(http.read(key, "min_version=1&via=controller")).read("$");

            assertThat(plain.get("read_count")).isEqualTo(1);
            assertThat(withParameters.get("read_count")).isEqualTo(2);
            plain.remove("read_count");
            withParameters.remove("read_count");
            assertThat(plain).isEqualTo(withParameters);
            await().atMost(Duration.ofSeconds(5))
                    .untilAsserted(() -> assertThat(requests("/read/{key}")).isEqualTo(requestsBefore + 2));
            assertThat(meters.get("cqrs.read.requests")
                            .tag("result", "found")
                            .counter()
                            .count())
                    .isEqualTo(foundBefore + 2);
        }

        private double requests(String uri) {
            var timers = meters.find("http.server.requests")
                    .tag("uri", uri)
                    .tag("status", "200")
                    .timers();
            return timers.stream().mapToLong(timer -> timer.count()).sum();
        }

        @Test
        void answersNotFoundWithAProblemForAnUnknownKey() {
            HttpResponse<String> response = http.read(uniqueKey("unknown-"));

            assertNotFound(response);
        }

        @Test
        void answersNotFoundTheSameWhetherTheFilterOrTheControllerTookTheRequest() {
            // The plain read is PlainReadFilter's; with a parameter the filter does not take, the controller's.
            String key = uniqueKey("unknown-");

            HttpResponse<String> plain = http.read(key);
            HttpResponse<String> withParameter = http.read(key, "via=controller");

            assertNotFound(plain);
            assertNotFound(withParameter);
            assertThat(json(plain).<Map<String, Object>>read("$"))
                    .isEqualTo(json(withParameter).<Map<String, Object>>read("$"))
                    .containsEntry("key", key)
                    .containsEntry("title", "Record not found")
                    .containsEntry("instance", "/read/" + key);
        }

        @Test
        void refusesAKeyLongerThanAnyWriteAcceptsBeforeAskingTheCacheOrTheDatabase() {
            String key = "k".repeat(7000);
            double cachedBefore = meters.get("cqrs.read.cache.entries").gauge().value();
            double missesBefore = meters.get("cqrs.read.cache.misses").counter().count();

            HttpResponse<String> plain = http.read(key);
            HttpResponse<String> withParameter = http.read(key, "via=controller");

            for (var response : List.of(plain, withParameter)) {
                assertThat(response.statusCode()).isEqualTo(400);
                assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
                assertThat(json(response).read("$.type", String.class)).isEqualTo("urn:cqrs:problem:invalid-key");
                assertThat(json(response).read("$.detail", String.class)).doesNotContain(key);
            }
            assertThat(meters.get("cqrs.read.cache.misses").counter().count()).isEqualTo(missesBefore);
            assertThat(meters.get("cqrs.read.cache.entries").gauge().value()).isEqualTo(cachedBefore);
            assertThat(http.read("ü".repeat(255)).statusCode())
                    .as("255 characters are a key that may exist")
                    .isEqualTo(404);
        }

        @Test
        void answersNotFoundForADeletedKey() {
            String key = uniqueKey("deleted-");
            projector.write(key, "soon gone", 1);
            projector.delete(key, 2);

            assertNotFound(http.read(key));
        }

        @ParameterizedTest
        @ValueSource(
                strings = {
                    "a/b",
                    "/leading/and/trailing/",
                    "with space",
                    "100% sure",
                    "%2F literally",
                    "ключ/ü/漢字",
                    "q?a#b&c=d;e",
                    "plus+sign",
                    "back\\slash"
                })
        void readsKeysThatNeedEncoding(String tricky) {
            String key = tricky + " " + uniqueKey("");
            projector.write(key, "value of " + key, 1);

            HttpResponse<String> response = http.read(key);

            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            assertThat(json(response).read("$.key", String.class)).isEqualTo(key);
            assertThat(json(response).read("$.value", String.class)).isEqualTo("value of " + key);
        }

        /**
         * Keys made of dot segments, exactly (a suffix would make them ordinary): a path normalised on the way in
         * would read another key, or none. Read by the path a client builds (dots left as they are) and with every
         * dot percent-encoded, each through the filter (plain read) and the controller (with a parameter).
         */
        @ParameterizedTest
        @ValueSource(strings = {".", "..", "...", "./", "/.", "a/..", "../x", "a/./b", "..\\..", "%2e%2e", ".;x"})
        void readsKeysThatLookLikeRelativePathSegments(String key) {
            projector.write(key, "dots", 1);
            String plain = "/read/" + ReadHttp.encode(key);
            String encoded = "/read/" + ReadHttp.encode(key).replace(".", "%2E");

            for (String path : List.of(plain, encoded, plain + "?min_version=1", encoded + "?min_version=1")) {
                HttpResponse<String> response = http.get(path);

                assertThat(response.statusCode())
                        .as(path + ": " + response.body())
                        .isEqualTo(200);
                assertThat(json(response).read("$.key", String.class)).as(path).isEqualTo(key);
            }
        }

        @Test
        void answersADatabaseBugWithAGenericServerErrorAndLogsIt(CapturedOutput output) {
            // A bug, not an outage: the statement names a column the table does not have. Retrying cannot help.
            String key = uniqueKey("sql-bug-");
            projector.jdbc().execute("alter table records rename column value to value_renamed_by_test");
            HttpResponse<String> response;
            try {
                response = http.read(key);
            } finally {
                projector.jdbc().execute("alter table records rename column value_renamed_by_test to value");
            }

            assertThat(response.statusCode()).as(response.body()).isEqualTo(500);
            assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
            assertThat(response.headers().firstValue("Retry-After")).isEmpty();
            var body = json(response);
            assertThat(body.read("$.type", String.class)).isEqualTo("urn:cqrs:problem:internal-error");
            assertThat(body.read("$.detail", String.class)).isEqualTo("Unexpected error");
            assertThat(body.read("$.success", Boolean.class)).isFalse();
            assertThat(response.body()).doesNotContain("value_renamed_by_test", "select");
            assertThat(output).contains("Unexpected error", "BadSqlGrammarException", "\tat ");
        }

        private static void assertNotFound(HttpResponse<String> response) {
            assertThat(response.statusCode()).isEqualTo(404);
            assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
            var body = json(response);
            assertThat(body.read("$.success", Boolean.class)).isFalse();
            assertThat(body.read("$.status", Integer.class)).isEqualTo(404);
            assertThat(body.read("$.type", String.class)).isEqualTo("urn:cqrs:problem:record-not-found");
            assertThat(body.read("$.detail", String.class)).contains("not found");
        }
    }

    @Nested
    class ReadYourWrites {

        @Test
        void answersAtOnceWhenTheVersionIsThere() {
            String key = uniqueKey("ryw-there-");
            projector.write(key, "v2", 2);

            HttpResponse<String> response = http.read(key, "min_version=2");

            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(json(response).read("$.version", Integer.class)).isEqualTo(2);
        }

        @Test
        void waitsUntilTheProjectionReachesTheVersion() {
            String key = uniqueKey("ryw-wait-");
            projector.write(key, "old", 1);
            http.read(key); // cached at version 1
            double waitingBefore = waiting();

            CompletableFuture<HttpResponse<String>> read =
                    CompletableFuture.supplyAsync(() -> http.read(key, "min_version=2&wait_ms=10000"));
            await().atMost(Duration.ofSeconds(10)).until(() -> waiting() > waitingBefore);
            long notifiedBefore = timedIn("notify_to_listener");
            long foundBefore = timedIn("listener_to_reader");
            projector.write(key, "new", 2);

            HttpResponse<String> response = read.join();
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            assertThat(json(response).read("$.version", Integer.class)).isEqualTo(2);
            assertThat(json(response).read("$.value", String.class)).isEqualTo("new");
            assertThat(json(response).read("$.read_count", Integer.class)).isEqualTo(2);
            // Both timed before the answer: the notice as the listener took it, the wake-up as the read found it.
            assertThat(timedIn("notify_to_listener")).isGreaterThan(notifiedBefore);
            assertThat(timedIn("listener_to_reader")).isGreaterThan(foundBefore);
        }

        @Test
        void answersServiceUnavailableWithBothVersionsWhenTheWaitRunsOut() {
            String key = uniqueKey("ryw-late-");
            projector.write(key, "v1", 1);

            HttpResponse<String> response = http.read(key, "min_version=5&wait_ms=50");

            assertThat(response.statusCode()).isEqualTo(503);
            assertThat(response.headers().firstValue("Retry-After")).hasValue("1");
            assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
            var body = json(response);
            assertThat(body.read("$.success", Boolean.class)).isFalse();
            assertThat(body.read("$.type", String.class)).isEqualTo("urn:cqrs:problem:version-not-reached");
            assertThat(body.read("$.min_version", Integer.class)).isEqualTo(5);
            assertThat(body.read("$.version", Integer.class)).isEqualTo(1);
            assertThat(body.read("$.key", String.class)).isEqualTo(key);
        }

        @ParameterizedTest
        @ValueSource(strings = {"min_version=2", "min_version=2&wait_ms=0", "wait_ms=10&min_version=2"})
        void answersTheReadYourWritesReadInTheFilterLikeTheController(String query) {
            // PlainReadFilter takes min_version and wait_ms; with any other parameter the controller answers.
            String key = uniqueKey("ryw-same-");
            projector.write(key, "v2", 2);

            Map<String, Object> filtered = json(http.read(key, query)).read("$");
            Map<String, Object> controlled =
                    json(http.read(key, query + "&via=controller")).read("$");

            assertThat(filtered.get("read_count")).isEqualTo(1);
            assertThat(controlled.get("read_count")).isEqualTo(2);
            filtered.remove("read_count");
            controlled.remove("read_count");
            assertThat(filtered).isEqualTo(controlled).containsEntry("version", 2);
        }

        @Test
        void timesAReadWhoseWaitRanOutOnceFromItsArrival() {
            // PlainReadFilter waits, then lets the controller answer the 503 without waiting again: one request in the
            // metrics, timed with its wait.
            String key = uniqueKey("ryw-timed-");
            projector.write(key, "v1", 1);
            Timer timer = meters.get("cqrs.read.request.duration")
                    .tag("result", "version_not_reached")
                    .timer();
            long countBefore = timer.count();
            double millisBefore = timer.totalTime(TimeUnit.MILLISECONDS);

            HttpResponse<String> response = http.read(key, "min_version=2&wait_ms=300");

            assertThat(response.statusCode()).isEqualTo(503);
            assertThat(json(response).read("$.version", Integer.class)).isEqualTo(1);
            assertThat(timer.count()).isEqualTo(countBefore + 1);
            assertThat(timer.totalTime(TimeUnit.MILLISECONDS) - millisBefore).isGreaterThanOrEqualTo(300);
        }

        @Test
        void reportsNoVersionForAKeyNotProjectedYet() {
            HttpResponse<String> response = http.read(uniqueKey("ryw-none-"), "min_version=1&wait_ms=0");

            assertThat(response.statusCode()).isEqualTo(503);
            assertThat(json(response).read("$.version", Object.class)).isNull();
        }

        @ParameterizedTest
        @ValueSource(strings = {"min_version=0", "min_version=-3", "min_version=abc", "wait_ms=-1", "wait_ms=soon"})
        void rejectsBadParametersWithAProblem(String query) {
            String key = uniqueKey("ryw-bad-");
            projector.write(key, "v1", 1);

            HttpResponse<String> response = http.read(key, query);

            assertThat(response.statusCode()).isEqualTo(400);
            assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
            var body = json(response);
            String parameter = query.substring(0, query.indexOf('='));
            assertThat(body.read("$.success", Boolean.class)).isFalse();
            assertThat(body.read("$.detail", String.class)).contains(parameter);
            assertThat(body.<List<Map<String, String>>>read("$.violations"))
                    .singleElement()
                    .satisfies(violation -> assertThat(violation)
                            .containsOnlyKeys("field", "message")
                            .containsEntry("field", parameter));
        }
    }
}
