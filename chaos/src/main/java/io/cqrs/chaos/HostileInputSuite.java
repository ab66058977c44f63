package io.cqrs.chaos;

import static org.awaitility.Awaitility.await;

import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.RawHttp;
import io.cqrs.testsupport.ServiceProcess;
import io.cqrs.testsupport.TestApiKeys;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;

/**
 * The hostile-input suite (issue 14): the three services from their jars at {@code -Xmx256m}, against servers of its
 * own, and every input a careless or hostile client was seen to send. Each case asserts what the client gets (the
 * statuses and problem types of the contract), that nothing was written where nothing may be, and that every
 * service is still up and ready afterwards; it reports each service's peak heap while it ran. One line per case, a
 * total line, exit status 1 when a case failed.
 */
public final class HostileInputSuite {

    private static final Duration PATIENCE = Duration.ofSeconds(120);
    /** The largest value the write service accepts by default (CQRS_MAX_VALUE_BYTES), as ASCII characters. */
    private static final int LARGEST_VALUE = 65_536;
    /** Each key's requests per second in this suite; bursts of twice as many. */
    private static final int RATE_LIMIT = 200;

    private final Servers servers;
    private final ServiceProcess write;
    private final ServiceProcess projector;
    private final ServiceProcess read;
    private final Map<String, ServiceProcess> services;

    private HostileInputSuite(Path work, Path root, Path pgBin, Resources resources) {
        this.servers = Servers.start(work, pgBin, resources);
        // A rate limit low enough for one key to pass it within seconds on a small machine (case 8).
        Map<String, String> shared = Map.of(
                "REDIS_URL",
                servers.redis().url(),
                "CQRS_RATE_LIMIT_PER_SECOND",
                Integer.toString(RATE_LIMIT),
                "CQRS_RATE_LIMIT_BURST",
                Integer.toString(2 * RATE_LIMIT));
        this.write = resources.add(new ServiceProcess(
                "write-service",
                ServiceJars.of(root, "write-service"),
                work,
                merged(shared, Map.of("WRITE_DB_URL", servers.writeDbUrl(), "READ_DB_URL", servers.readDbUrl())),
                List.of()));
        this.projector = resources.add(new ServiceProcess(
                "projector-service",
                ServiceJars.of(root, "projector-service"),
                work,
                merged(shared, Map.of("READ_DB_URL", servers.readDbUrl())),
                List.of()));
        this.read = resources.add(new ServiceProcess(
                "read-service",
                ServiceJars.of(root, "read-service"),
                work,
                merged(shared, Map.of("READ_DB_URL", servers.readDbUrl())),
                List.of()));
        CompletableFuture.allOf(
                        CompletableFuture.runAsync(() -> start(work, write)),
                        CompletableFuture.runAsync(() -> start(work, projector)))
                .join();
        start(work, read); // the projector migrates the read database first
        this.services = new LinkedHashMap<>();
        services.put("write", write);
        services.put("projector", projector);
        services.put("read", read);
        log("services up: write " + write.port() + ", projector " + projector.port() + ", read " + read.port());
    }

    public static void main(String[] args) {
        SuiteRun.main(
                "hostile-input",
                (work, root, pgBin, resources, started) ->
                        new HostileInputSuite(work, root, pgBin, resources).runAll(started));
    }

    private List<Scenario> cases() {
        return List.of(
                new Scenario("1-long-absent-keys", this::longAbsentKeys),
                new Scenario("2-huge-batch-bodies", this::hugeBatchBodies),
                new Scenario("3-large-values-backlog", this::largeValuesBacklog),
                new Scenario("4-stuck-row-lock", this::stuckRowLock),
                new Scenario("5-idempotent-deletes-of-missing-keys", this::idempotentDeletesOfMissingKeys),
                new Scenario("6-odd-keys", this::oddKeys),
                new Scenario("7-no-key-wrong-key-wrong-scope", this::withoutTheRightKey),
                new Scenario("8-waiters-for-versions-that-never-come", this::waitersForVersionsThatNeverCome),
                new Scenario("9-idle-and-half-sent-connections", this::idleAndHalfSentConnections),
                new Scenario("10-requests-tomcat-refuses", this::requestsTomcatRefuses),
                new Scenario("11-one-key-floods", this::oneKeyFloods));
    }

    private int runAll(long started) {
        int failed = 0;
        try (var heap = new HeapPeaks(services)) {
            for (Scenario scenario : cases()) {
                heap.reset();
                var findings = new Scenario.Findings();
                try {
                    scenario.fault().inject(findings);
                } catch (Exception | AssertionError e) {
                    findings.check("ran to the end: " + e, false);
                }
                services.forEach((name, service) -> {
                    findings.check(name + " is alive", service.died() == null);
                    findings.check(name + " is ready", ready(service));
                });
                boolean passed = findings.failedChecks() == 0;
                failed += passed ? 0 : 1;
                System.out.println("case=" + scenario.name() + " result=" + (passed ? "PASS" : "FAIL") + " "
                        + String.join(" ", findings.notes()) + " " + heap.line());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.out.println("total cases=" + cases().size() + " failed=" + failed + " duration_s="
                + (System.nanoTime() - started) / 1_000_000_000L + " result=" + (failed == 0 ? "PASS" : "FAIL"));
        return failed == 0 ? 0 : 1;
    }

    /**
     * 34,000 reads of distinct ~7 KB keys that were never written, from 16 threads: half without a key (401 before
     * anything else), half with a read key (400 invalid-key before the cache or the database; 429 past the key's rate
     * limit, which this suite sets low). Once, the near cache kept every such absent key and the read service died of it.
     */
    private void longAbsentKeys(Scenario.Findings findings) {
        String padding = "k".repeat(7_000);
        var answers = concurrently(34_000, 16, i -> {
            var http = i % 2 == 0 ? read.http().anonymous() : read.http().as(TestApiKeys.READER);
            return http.get("/read/" + padding + i);
        });
        findings.note("answers", answers);
        findings.check("only 400, 401 and 429", onlyStatuses(answers, 400, 401, 429));
        findings.check("a 401 per read without a key", answers.getOrDefault(401, 0) == 17_000);
        findings.check("reads with a key got to the key check", answers.getOrDefault(400, 0) > 0);
    }

    /**
     * 40 concurrent 7.8 MB batch bodies of empty commands: each is refused (400: too many commands; 413 beyond the
     * body limit) without building the whole array, and the write service stays up.
     */
    private void hugeBatchBodies(Scenario.Findings findings) {
        String body = "{\"commands\":[" + "{},".repeat(2_600_000) + "{}]}";
        var answers =
                concurrently(40, 40, i -> write.http().as(TestApiKeys.WRITER).postJson("/write/batch", body));
        findings.note("answers", answers);
        findings.check("only 400 and 413", onlyStatuses(answers, 400, 413));
    }

    /**
     * 4,800 accepted writes of 64 KB values while the projector is frozen, then the projector thawed: it reads the
     * backlog in batches bounded in bytes, projects all of it, and stays up. (Batches of 8,000 such entries once took
     * it down for good.)
     */
    private void largeValuesBacklog(Scenario.Findings findings) throws SQLException {
        String value = "v".repeat(LARGEST_VALUE - 8);
        String prefix = "large-" + System.nanoTime() + "-";
        projector.pause();
        try {
            var answers = concurrently(48, 4, batch -> {
                var commands = new ArrayList<String>();
                for (int i = 0; i < 100; i++) {
                    commands.add("{\"key\":\"" + prefix + (batch * 100 + i) + "\",\"value\":\"" + value + i + "\"}");
                }
                return write.http()
                        .as(TestApiKeys.WRITER)
                        .postJson("/write/batch", "{\"commands\":[" + String.join(",", commands) + "]}");
            });
            findings.note("batches", answers);
            findings.check("every batch accepted", onlyStatuses(answers, 200));
        } finally {
            projector.resume();
        }
        long start = System.nanoTime();
        boolean projected = eventually(() -> projector.died() != null
                || count(servers.readDb(), "cqrs_read", "select count(*) from records where key like '" + prefix + "%'")
                        == 4_800);
        findings.note("projected_after_ms", (System.nanoTime() - start) / 1_000_000);
        findings.check("all 4,800 projected", projected && projector.died() == null);
    }

    /**
     * A key's state row held by another transaction (an operator's, a stuck one): a write to it answers 503 "nothing
     * was written" within the lock timeout, writes nothing, and a write to another key goes through meanwhile.
     */
    private void stuckRowLock(Scenario.Findings findings) throws SQLException {
        String key = "locked-" + System.nanoTime();
        var writer = write.http().as(TestApiKeys.WRITER);
        findings.check(
                "first write 200", writer.postJson("/write", json(key, "v1")).statusCode() == 200);
        try (Connection holder = servers.writeDb().connect("cqrs_write")) {
            holder.setAutoCommit(false);
            try (var lock = holder.prepareStatement("select 1 from key_state where key = ? for update")) {
                lock.setString(1, key);
                lock.executeQuery().close();
            }
            long start = System.nanoTime();
            var refused = writer.postJson("/write", json(key, "v2"));
            findings.note("locked_answer_ms", (System.nanoTime() - start) / 1_000_000);
            findings.check(
                    "503 with Retry-After",
                    refused.statusCode() == 503
                            && refused.headers().firstValue("Retry-After").isPresent());
            findings.check("says nothing was written", refused.body().contains("nothing was written"));
            findings.check(
                    "another key is written meanwhile",
                    writer.postJson("/write", json(key + "-other", "v")).statusCode() == 200);
            holder.rollback();
        }
        findings.check(
                "the refused write left no command",
                count(servers.writeDb(), "cqrs_write", "select count(*) from commands where key = '" + key + "'") == 1);
    }

    /** 100 pairs of concurrent deletes of keys never written, each pair sharing an Idempotency-Key: all 404. */
    private void idempotentDeletesOfMissingKeys(Scenario.Findings findings) {
        String run = Long.toString(System.nanoTime());
        var answers = concurrently(
                200,
                32,
                i -> write.http()
                        .as(TestApiKeys.WRITER)
                        .delete("/write/never-" + run + "-" + i / 2, "Idempotency-Key", "pair-" + run + "-" + i / 2));
        findings.note("answers", answers);
        findings.check("all 404", onlyStatuses(answers, 404));
    }

    /** Keys that paths and URL decoders like to rewrite: each can be written, read back and deleted. */
    private void oddKeys(Scenario.Findings findings) {
        var writer = write.http().as(TestApiKeys.WRITER);
        var reader = read.http().as(TestApiKeys.READER);
        int failed = 0;
        // "." and ".." exactly (a suffix would make them ordinary keys), the rest made unique by a suffix.
        var keys = new ArrayList<>(List.of(".", ".."));
        for (String odd : List.of("a\\b", ".", "..", "a/../b", "./x", "%", "%2e%2e", "a/b", "ü ñ ☃", "a;b", "a?b#c")) {
            keys.add(odd + "-" + System.nanoTime());
        }
        for (String key : keys) {
            var written = writer.postJson("/write", json(key, "v"));
            long version = written.statusCode() == 200 ? version(written.body()) : -1;
            var readBack = reader.get("/read/" + LocalHttp.segment(key) + "?min_version=" + version + "&wait_ms=5000");
            var deleted = writer.delete("/write/" + LocalHttp.segment(key));
            boolean ok = written.statusCode() == 200 && readBack.statusCode() == 200 && deleted.statusCode() == 200;
            if (!ok) {
                failed++;
                findings.note(
                        "key_" + failed,
                        "'" + key + "':" + written.statusCode() + "/" + readBack.statusCode() + "/"
                                + deleted.statusCode());
            }
        }
        findings.check("every odd key written, read and deleted", failed == 0);
    }

    /** Every endpoint without a key, with an unknown one and with one lacking the scope: 401, 401, 403, nothing written. */
    private void withoutTheRightKey(Scenario.Findings findings) throws SQLException {
        String key = "unauthorized-" + System.nanoTime();
        var refusals = new TreeMap<Integer, Integer>();
        for (var caller : List.of(
                write.http().anonymous(),
                write.http().as("guessed-secret"),
                write.http().as(TestApiKeys.READER))) {
            for (var answer : List.of(
                    caller.postJson("/write", json(key, "v")),
                    caller.putJson("/write", json(key, "v")),
                    caller.postJson("/write/batch", "{\"commands\":[" + json(key, "v") + "]}"),
                    caller.delete("/write/" + key))) {
                refusals.merge(answer.statusCode(), 1, Integer::sum);
                findings.check("problem+json", problemJson(answer));
            }
        }
        for (var caller : List.of(
                read.http().anonymous(),
                read.http().as("guessed-secret"),
                read.http().as(TestApiKeys.WRITER))) {
            for (var answer : List.of(caller.get("/read/" + key), caller.get("/stats"))) {
                refusals.merge(answer.statusCode(), 1, Integer::sum);
                findings.check("problem+json", problemJson(answer));
            }
        }
        findings.note("answers", refusals);
        findings.check(
                "401 without or with an unknown key, 403 without the scope", refusals.equals(Map.of(401, 12, 403, 6)));
        findings.check(
                "nothing written",
                count(servers.writeDb(), "cqrs_write", "select count(*) from commands where key = '" + key + "'") == 0);
    }

    /**
     * One key sends as fast as 16 connections go, past its rate limit (RATE_LIMIT a second, bursts of twice that): it
     * gets 429 with Retry-After, and another key is served meanwhile.
     */
    private void oneKeyFloods(Scenario.Findings findings) {
        var flooder = read.http().as(TestApiKeys.CLIENT);
        var answers = concurrently(8 * RATE_LIMIT, 16, i -> flooder.get("/read/flood-" + (i % 100)));
        var other = read.http().as(TestApiKeys.READER).get("/read/flood-0");
        var refused = flooder.get("/read/flood-0");
        findings.note("answers", answers);
        findings.check("429s past the limit", answers.getOrDefault(429, 0) > 0);
        findings.check("only 404 and 429", onlyStatuses(answers, 404, 429));
        findings.check("another key is served meanwhile", other.statusCode() == 404);
        findings.check(
                "429 says when to retry",
                refused.statusCode() != 429
                        || refused.headers().firstValue("Retry-After").isPresent());
    }

    /**
     * 600 reads waiting at once for versions that never come, more than the read service lets wait
     * (CQRS_READ_MAX_WAITERS, 512): those beyond the cap get 503 too-many-waiters at once, the others 503 after their
     * wait, and none holds a connection for good.
     */
    private void waitersForVersionsThatNeverCome(Scenario.Findings findings) {
        var types = new ConcurrentHashMap<String, LongAdder>();
        // Two keys with the read scope: 600 requests at once are more than one key's burst in this suite.
        var answers = concurrently(600, 600, i -> {
            var answer = read.http()
                    .as(i % 2 == 0 ? TestApiKeys.READER : TestApiKeys.CLIENT)
                    .get("/read/waiting-" + i + "?min_version=1000000&wait_ms=5000");
            var type = java.util.regex.Pattern.compile("\"type\":\"urn:cqrs:problem:([a-z-]+)\"")
                    .matcher(answer.body());
            types.computeIfAbsent(type.find() ? type.group(1) : "none", t -> new LongAdder())
                    .increment();
            return answer;
        });
        var byType = new TreeMap<String, Long>();
        types.forEach((type, n) -> byType.put(type, n.sum()));
        findings.note("answers", answers);
        findings.note("types", byType);
        findings.check("only 503 (and 429 past a key's burst)", onlyStatuses(answers, 503, 429));
        findings.check("some refused at once as too many", byType.getOrDefault("too-many-waiters", 0L) > 0);
    }

    /**
     * As many connections as the service takes, and more, that send nothing or half a request and then wait: the
     * service closes each after its connection timeout (CQRS_HTTP_CONNECTION_TIMEOUT, 5 s), and a normal read is
     * served afterwards.
     */
    private void idleAndHalfSentConnections(Scenario.Findings findings) {
        var raw = new RawHttp(read.port());
        var held = new ArrayList<java.net.Socket>();
        try {
            for (int i = 0; i < 1_100; i++) {
                try {
                    held.add(raw.hold(i % 2 == 0 ? "" : "GET /read/x HTTP/1.1\r\nHost: x\r\n"));
                } catch (UncheckedIOException e) {
                    break; // the backlog is full too: enough held
                }
            }
            findings.note("held", held.size());
            long start = System.nanoTime();
            // Within six connection timeouts: with Tomcat's default (60 s) they would all still be open.
            boolean closed = eventually(
                    Duration.ofSeconds(30),
                    () -> held.stream().allMatch(socket -> RawHttp.closedByPeer(socket, Duration.ofMillis(1))));
            findings.note("all_closed_after_ms", (System.nanoTime() - start) / 1_000_000);
            findings.check("every idle or half-sent connection closed by the service", closed);
            findings.check(
                    "a normal read served afterwards",
                    read.http().as(TestApiKeys.READER).get("/read/after-idle").statusCode() == 404);
        } finally {
            for (var socket : held) {
                try {
                    socket.close();
                } catch (IOException e) {
                    // already closed by the service
                }
            }
        }
    }

    /** Requests Tomcat refuses before any filter or controller sees them: problem+json, not an HTML page. */
    private void requestsTomcatRefuses(Scenario.Findings findings) {
        var statuses = new TreeMap<Integer, Integer>();
        int notProblems = 0;
        for (var service : List.of(write, projector, read)) {
            var raw = new RawHttp(service.port());
            for (String request : List.of(
                    "GET /read/%zz HTTP/1.1\r\nHost: x\r\n\r\n",
                    "GET /read/a%00b HTTP/1.1\r\nHost: x\r\n\r\n",
                    "GET /read/a{b} HTTP/1.1\r\nHost: x\r\n\r\n",
                    "G(T /read/x HTTP/1.1\r\nHost: x\r\n\r\n",
                    "GET /read/x HTTP/9.9\r\nHost: x\r\n\r\n",
                    "GET /read/" + "x".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n",
                    "GET /read/x HTTP/1.1\r\nHost: x\r\nX-Big: " + "y".repeat(20_000) + "\r\n\r\n")) {
                var answer = raw.send(request);
                statuses.merge(answer.status(), 1, Integer::sum);
                if (!answer.header("Content-Type")
                        .filter(type -> type.startsWith("application/problem+json"))
                        .isPresent()) {
                    notProblems++;
                }
            }
        }
        findings.note("answers", statuses);
        findings.check("all 4xx or 505", statuses.keySet().stream().allMatch(s -> s >= 400 && s < 500 || s == 505));
        findings.check("all problem+json", notProblems == 0);
    }

    // --- helpers ----------------------------------------------------------------------------------------------------

    /**
     * Sends {@code count} requests from {@code threads} threads; the answers by status (0: no answer, -1: the request
     * failed in this suite).
     */
    private static Map<Integer, Integer> concurrently(int count, int threads, IntFunction<HttpResponse<String>> call) {
        var statuses = new ConcurrentHashMap<Integer, LongAdder>();
        var next = new AtomicInteger();
        try (var pool = Executors.newFixedThreadPool(threads)) {
            for (int t = 0; t < threads; t++) {
                pool.submit(() -> {
                    for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                        int status;
                        try {
                            status = call.apply(i).statusCode();
                        } catch (UncheckedIOException e) {
                            status = 0; // no answer: the connection was refused or closed
                        } catch (RuntimeException | Error e) {
                            status = -1; // the suite's own failure, never to be mistaken for an answer
                            log("request " + i + " failed in the suite: " + e);
                        }
                        statuses.computeIfAbsent(status, s -> new LongAdder()).increment();
                    }
                });
            }
        }
        var sorted = new TreeMap<Integer, Integer>();
        statuses.forEach((status, n) -> sorted.put(status, n.intValue()));
        return sorted;
    }

    private static boolean onlyStatuses(Map<Integer, Integer> answers, Integer... allowed) {
        return List.of(allowed).containsAll(answers.keySet());
    }

    private static boolean problemJson(HttpResponse<String> answer) {
        return answer.headers()
                .firstValue("Content-Type")
                .filter(type -> type.startsWith("application/problem+json"))
                .isPresent();
    }

    private static String json(String key, String value) {
        return "{\"key\":\"" + key.replace("\\", "\\\\").replace("\"", "\\\"") + "\",\"value\":\"" + value + "\"}";
    }

    private static long version(String body) {
        var matcher = java.util.regex.Pattern.compile("\"version\":(\\d+)").matcher(body);
        return matcher.find() ? Long.parseLong(matcher.group(1)) : -1;
    }

    private static long count(PostgresCluster cluster, String database, String sql) {
        try (Connection connection = cluster.connect(database);
                var statement = connection.createStatement();
                var result = statement.executeQuery(sql)) {
            result.next();
            return result.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
    }

    private static boolean eventually(java.util.concurrent.Callable<Boolean> condition) {
        return eventually(PATIENCE, condition);
    }

    private static boolean eventually(Duration patience, java.util.concurrent.Callable<Boolean> condition) {
        try {
            await().atMost(patience)
                    .pollInterval(Duration.ofMillis(250))
                    .ignoreExceptions()
                    .until(condition);
            return true;
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            return false;
        }
    }

    private static boolean ready(ServiceProcess service) {
        try {
            return service.http()
                            .anonymous()
                            .send(HttpRequest.newBuilder(service.http().uri("/readyz")))
                            .statusCode()
                    == 200;
        } catch (UncheckedIOException e) {
            return false;
        }
    }

    private static void start(Path work, ServiceProcess service) {
        service.start();
        Shell.remember(work, service.pid());
        service.awaitReady();
    }

    private static Map<String, String> merged(Map<String, String> shared, Map<String, String> own) {
        var all = new LinkedHashMap<>(shared);
        all.putAll(own);
        return all;
    }

    private static void log(String message) {
        System.err.println("[hostile " + Instant.now() + "] " + message);
    }
}
