package io.cqrs.chaos;

import io.cqrs.testsupport.TestApiKeys;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Continuous concurrent writes (single writes, batches, deletes, each with an Idempotency-Key that its retries reuse)
 * and reads over a bounded key set, with an exact account of what the services answered.
 *
 * <p>A write answered 2xx is <em>acknowledged</em>: it must be durable and reach the read model. A write that never
 * got a definite answer (connection refused or reset, timeout, 503 until its deadline) is <em>uncertain</em>: it may
 * or may not exist, but never twice. Reads answered 200 are counted per key; reads without an answer are uncertain
 * (the service may have counted them).
 */
final class LoadGenerator {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .build();
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
    /** How long one logical write keeps being retried before it is given up as uncertain. */
    private static final Duration WRITE_DEADLINE = Duration.ofSeconds(60);
    /** A 503 slower than this is not the "fast" 503 the write service promises while its database is away. */
    private static final Duration SLOW_503 = Duration.ofSeconds(5);

    /** A command the write service acknowledged: its key, id and version. */
    record Ack(String key, long commandId, long version) {}

    /** What happened during one scenario. */
    static final class Tally {
        final LongAdder acknowledged = new LongAdder();
        final LongAdder uncertain = new LongAdder();
        final LongAdder retries = new LongAdder();
        final LongAdder fast503 = new LongAdder();
        final LongAdder slow503 = new LongAdder();
        final LongAdder without503RetryAfter = new LongAdder();
        final LongAdder unexpected = new LongAdder();
        final LongAdder connectionErrors = new LongAdder();
        final LongAdder reads = new LongAdder();
        final LongAdder uncertainReads = new LongAdder();
        /** Read-your-writes reads ({@code ?min_version}) answered 200 with the version asked or newer. */
        final LongAdder versionReads = new LongAdder();
        /** ... answered 503 (not there in time): allowed. */
        final LongAdder versionNotReached = new LongAdder();
        /** ... answered 200 with an older version than asked: never allowed. */
        final LongAdder olderThanAsked = new LongAdder();
    }

    /** Every write and read goes to one of these, chosen at random each time (a retry may go to another). */
    private final List<Integer> writePorts;

    private final List<Integer> readPorts;
    final Queue<Ack> acks = new ConcurrentLinkedQueue<>();
    /** Idempotency-Key → commands its request carries (1, or the batch size). */
    final Map<String, Integer> idempotencyKeys = new ConcurrentHashMap<>();

    final Map<String, LongAdder> reads = new ConcurrentHashMap<>();
    /**
     * Per read service (its port): microseconds from a write's 2xx to a {@code ?min_version} read of it answering that
     * version, over the whole run.
     */
    final Map<Integer, Queue<Long>> ackToVisibleMicros = new ConcurrentHashMap<>();

    final Map<String, LongAdder> uncertainReads = new ConcurrentHashMap<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean running;
    private volatile List<String> keys = List.of();

    LoadGenerator(List<Integer> writePorts, List<Integer> readPorts) {
        this.writePorts = List.copyOf(writePorts);
        this.readPorts = List.copyOf(readPorts);
    }

    /** p50 / p99 in ms of {@link #ackToVisibleMicros} for the read service on {@code port}, and how many. */
    String ackToVisible(int port) {
        var micros = new ArrayList<>(ackToVisibleMicros.getOrDefault(port, new ConcurrentLinkedQueue<>()));
        if (micros.isEmpty()) {
            return "none";
        }
        micros.sort(null);
        return String.format(
                java.util.Locale.ROOT,
                "p50=%.1fms p99=%.1fms n=%d",
                micros.get(micros.size() / 2) / 1000.0,
                micros.get(Math.min(micros.size() - 1, (int) (micros.size() * 0.99))) / 1000.0,
                micros.size());
    }

    private static int any(List<Integer> ports) {
        return ports.get(ThreadLocalRandom.current().nextInt(ports.size()));
    }

    /** Starts writers and readers over {@code keys}; they run until {@link #stop()}. */
    void start(Tally tally, List<String> keys, int writers, int readers) {
        this.keys = List.copyOf(keys);
        running = true;
        for (int i = 0; i < writers; i++) {
            threads.add(Thread.ofPlatform().name("writer-" + i).start(() -> {
                while (running) {
                    writeOnce(tally, this.keys);
                }
            }));
        }
        for (int i = 0; i < readers; i++) {
            threads.add(Thread.ofPlatform().name("reader-" + i).start(() -> {
                while (running) {
                    readOnce(tally, this.keys);
                }
            }));
        }
    }

    /**
     * Moves the load to other keys. The keys written before are then never written again, so an event of theirs lost
     * in a fault cannot be covered up by a later write: the read model shows the loss.
     */
    void switchKeys(List<String> keys) {
        this.keys = List.copyOf(keys);
    }

    /**
     * Turns the 200s seen so far on {@code keys} into reads that may or may not be counted: the read counts stored
     * for them were rolled back (the read database restored from a dump), so only later reads are certain.
     */
    void forgetReads(List<String> keys) {
        for (String key : keys) {
            LongAdder seen = reads.get(key);
            if (seen != null) {
                uncertainReads.computeIfAbsent(key, k -> new LongAdder()).add(seen.sumThenReset());
            }
        }
    }

    /** Stops starting new work and waits for the operations in flight to end (writes finish their retries). */
    void stop() {
        running = false;
        for (Thread thread : threads) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        threads.clear();
    }

    private void writeOnce(Tally tally, List<String> keys) {
        var random = ThreadLocalRandom.current();
        String idempotencyKey = "chaos-" + UUID.randomUUID();
        int roll = random.nextInt(100);
        HttpRequest.Builder request;
        int commands;
        if (roll < 75) {
            String key = keys.get(random.nextInt(keys.size()));
            request = post("/write", "{\"key\":" + quote(key) + ",\"value\":" + quote(value()) + "}");
            commands = 1;
        } else if (roll < 90) {
            commands = 2 + random.nextInt(4);
            var items = new ArrayList<String>();
            for (int i = 0; i < commands; i++) {
                String key = keys.get(random.nextInt(keys.size()));
                items.add("{\"key\":" + quote(key) + ",\"value\":" + quote(value()) + "}");
            }
            request = post("/write/batch", "{\"commands\":[" + String.join(",", items) + "]}");
        } else {
            String key = keys.get(random.nextInt(keys.size()));
            request = HttpRequest.newBuilder(uri(any(writePorts), "/write/" + segment(key)))
                    .header("Authorization", "Bearer " + TestApiKeys.WRITER)
                    .DELETE();
            commands = 1;
        }
        request.header("Idempotency-Key", idempotencyKey).timeout(REQUEST_TIMEOUT);
        idempotencyKeys.put(idempotencyKey, commands);
        HttpRequest built = request.build();
        long deadline = System.nanoTime() + WRITE_DEADLINE.toNanos();
        boolean first = true;
        while (System.nanoTime() < deadline) {
            if (!first) {
                tally.retries.increment();
            }
            first = false;
            long started = System.nanoTime();
            try {
                // Each attempt to any write service: a retry after one went away goes elsewhere, as behind a balancer.
                var attempt = HttpRequest.newBuilder(built, (name, value) -> true)
                        .uri(uri(any(writePorts), built.uri().getRawPath()))
                        .build();
                HttpResponse<String> response = HTTP.send(attempt, HttpResponse.BodyHandlers.ofString());
                int status = response.statusCode();
                if (status == 200) {
                    acknowledge(tally, response.body());
                    return;
                }
                if (status == 404 && "DELETE".equals(built.method())) {
                    return; // a definite answer: nothing was written
                }
                if (status == 503) {
                    long elapsed = System.nanoTime() - started;
                    (elapsed > SLOW_503.toNanos() ? tally.slow503 : tally.fast503).increment();
                    if (response.headers().firstValue("Retry-After").isEmpty()) {
                        tally.without503RetryAfter.increment();
                    }
                    Shell.sleep(200);
                    continue;
                }
                tally.unexpected.increment();
                System.err.println("unexpected answer " + status + " to " + built.method() + " " + built.uri() + ": "
                        + response.body());
                return;
            } catch (IOException e) {
                if (tally.connectionErrors.sum() < 3) {
                    System.err.println("no answer to " + built.method() + " " + built.uri() + ": " + e);
                }
                tally.connectionErrors.increment();
                Shell.sleep(100); // refused, reset or timed out: the service is away; the retry reuses the key
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        tally.uncertain.increment();
    }

    private void acknowledge(Tally tally, String body) {
        JsonNode answer = JSON.readTree(body);
        JsonNode results = answer.path("results");
        if (results.isArray()) {
            for (JsonNode item : results) {
                acks.add(new Ack(
                        item.path("key").asString(),
                        item.path("command_id").asLong(),
                        item.path("version").asLong()));
            }
        } else {
            var ack = new Ack(
                    answer.path("key").asString(),
                    answer.path("command_id").asLong(),
                    answer.path("version").asLong());
            acks.add(ack);
            if (ThreadLocalRandom.current().nextInt(5) == 0) {
                readYourWrite(tally, ack);
            }
        }
        tally.acknowledged.increment();
    }

    /**
     * Reads what was just written, with {@code ?min_version}, from any read service (a standby's too): it must answer
     * that version or newer, or 503 when it is not there in time, never an older one. A 404 is a delete's answer.
     */
    private void readYourWrite(Tally tally, Ack ack) {
        long acknowledged = System.nanoTime();
        int port = any(readPorts);
        var request = HttpRequest.newBuilder(
                        uri(port, "/read/" + segment(ack.key()) + "?min_version=" + ack.version() + "&wait_ms=2000"))
                .header("Authorization", "Bearer " + TestApiKeys.READER)
                .timeout(REQUEST_TIMEOUT)
                .build();
        try {
            var response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
            switch (response.statusCode()) {
                case 200 -> {
                    reads.computeIfAbsent(ack.key(), k -> new LongAdder()).increment();
                    tally.reads.increment();
                    long version =
                            JSON.readTree(response.body()).path("version").asLong();
                    if (version < ack.version()) {
                        tally.olderThanAsked.increment();
                        System.err.println("read-your-writes: asked for version " + ack.version() + " of " + ack.key()
                                + ", got " + version + " from " + request.uri());
                    } else {
                        tally.versionReads.increment();
                        ackToVisibleMicros
                                .computeIfAbsent(port, p -> new ConcurrentLinkedQueue<>())
                                .add((System.nanoTime() - acknowledged) / 1_000);
                    }
                }
                case 404 -> tally.versionReads.increment(); // deleted since by another writer
                case 503 -> tally.versionNotReached.increment();
                default -> {
                    tally.unexpected.increment();
                    System.err.println("unexpected answer " + response.statusCode() + " to GET " + request.uri());
                }
            }
        } catch (IOException e) {
            uncertainReads.computeIfAbsent(ack.key(), k -> new LongAdder()).increment();
            tally.uncertainReads.increment();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void readOnce(Tally tally, List<String> keys) {
        String key = keys.get(ThreadLocalRandom.current().nextInt(keys.size()));
        var request = HttpRequest.newBuilder(uri(any(readPorts), "/read/" + segment(key)))
                .header("Authorization", "Bearer " + TestApiKeys.READER)
                .timeout(REQUEST_TIMEOUT)
                .build();
        try {
            var response = HTTP.send(request, HttpResponse.BodyHandlers.discarding());
            if (response.statusCode() == 200) {
                reads.computeIfAbsent(key, k -> new LongAdder()).increment();
                tally.reads.increment();
            } else if (response.statusCode() != 404 && response.statusCode() != 503) {
                tally.unexpected.increment();
                System.err.println("unexpected answer " + response.statusCode() + " to GET " + request.uri());
            }
        } catch (IOException e) {
            uncertainReads.computeIfAbsent(key, k -> new LongAdder()).increment();
            tally.uncertainReads.increment();
            Shell.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private HttpRequest.Builder post(String path, String json) {
        return HttpRequest.newBuilder(uri(any(writePorts), path))
                .header("Authorization", "Bearer " + TestApiKeys.WRITER)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json));
    }

    private static URI uri(int port, String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    private static String segment(String key) {
        return URLEncoder.encode(key, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String value() {
        var random = ThreadLocalRandom.current();
        return random.nextInt(10) == 0 ? "wert-ü-" + random.nextInt(1000) : "v-" + random.nextLong(1_000_000);
    }

    private static String quote(String text) {
        return JSON.writeValueAsString(text);
    }
}
