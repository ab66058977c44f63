import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * The parts of the benchmark that wrk cannot do, run with the JDK's source launcher ({@code java bench/Bench.java}).
 *
 * <ul>
 *   <li>{@code load}: N events through POST /write/batch (1000 commands each), a few batches at once.
 *   <li>{@code caught-up}: waits until the read service reports no projection lag and nothing pending.
 *   <li>{@code probe}: writes at a fixed rate and measures, per write, the time from its 200 until GET /read with
 *       {@code min_version} returns that version: commit to visible, as a client sees it.
 * </ul>
 *
 * Each prints one JSON object on its last line.
 */
public class Bench {

    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .executor(Executors.newVirtualThreadPerTaskExecutor())
            .build();
    private static final Pattern VERSION = Pattern.compile("\"version\":(\\d+)");

    public static void main(String[] args) throws Exception {
        Map<String, String> options = options(args);
        switch (args.length == 0 ? "" : args[0]) {
            case "load" -> load(options);
            case "caught-up" -> caughtUp(options);
            case "probe" -> probe(options);
            default -> {
                System.err.println("usage: java Bench.java load|caught-up|probe --write URL --read URL [options]");
                System.exit(2);
            }
        }
    }

    /** Sends {@code --events} writes over {@code --keys} keys as batches of {@code --batch}. */
    static void load(Map<String, String> o) throws Exception {
        String write = o.get("write");
        long events = Long.parseLong(o.getOrDefault("events", "1000000"));
        int keys = Integer.parseInt(o.getOrDefault("keys", "100000"));
        int batch = Integer.parseInt(o.getOrDefault("batch", "1000"));
        int concurrency = Integer.parseInt(o.getOrDefault("concurrency", "4"));
        String prefix = o.getOrDefault("prefix", "bench-");
        boolean sequential = Boolean.parseBoolean(o.getOrDefault("sequential", "false"));
        var next = new AtomicLong();
        var failures = new AtomicLong();
        long start = System.nanoTime();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < concurrency; c++) {
                pool.submit(() -> {
                    long first;
                    while ((first = next.getAndAdd(batch)) < events) {
                        var body = new StringBuilder("{\"commands\":[");
                        for (long i = first; i < Math.min(first + batch, events); i++) {
                            long key = sequential ? i % keys + 1 : ThreadLocalRandom.current().nextInt(keys) + 1;
                            body.append(i == first ? "" : ",")
                                    .append("{\"key\":\"").append(prefix).append(key)
                                    .append("\",\"value\":\"v").append(i).append("\"}");
                        }
                        var response = send(HttpRequest.newBuilder(URI.create(write + "/write/batch"))
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body.append("]}").toString())));
                        if (response == null || response.statusCode() != 200) {
                            failures.incrementAndGet();
                        }
                    }
                    return null;
                });
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf(
                "{\"events\":%d,\"failed_batches\":%d,\"seconds\":%.3f,\"events_per_second\":%.0f}%n",
                events, failures.get(), seconds, events / seconds);
    }

    /** Polls GET /health until projection lag and pending are zero; prints how long that took. */
    static void caughtUp(Map<String, String> o) throws Exception {
        String read = o.get("read");
        long timeoutMs = Long.parseLong(o.getOrDefault("timeout-ms", "600000"));
        long start = System.nanoTime();
        var lag = Pattern.compile("\"lag_seconds\":([0-9.Ee-]+)");
        var pending = Pattern.compile("\"pending\":(\\d+)");
        while ((System.nanoTime() - start) / 1_000_000 < timeoutMs) {
            var response = send(HttpRequest.newBuilder(URI.create(read + "/health")).GET());
            if (response != null) {
                var l = lag.matcher(response.body());
                var p = pending.matcher(response.body());
                if (l.find() && p.find() && Double.parseDouble(l.group(1)) == 0 && Long.parseLong(p.group(1)) == 0) {
                    System.out.printf("{\"caught_up\":true,\"seconds\":%.3f}%n", (System.nanoTime() - start) / 1e9);
                    return;
                }
            }
            Thread.sleep(20); // polling a remote process: there is no condition to wait on
        }
        System.out.printf("{\"caught_up\":false,\"seconds\":%.3f}%n", (System.nanoTime() - start) / 1e9);
        System.exit(1);
    }

    /** Fixed-rate writes, each followed by a read-your-writes GET; latencies of both. */
    static void probe(Map<String, String> o) throws Exception {
        String write = o.get("write");
        String read = o.get("read");
        int rate = Integer.parseInt(o.getOrDefault("rate", "2000"));
        int seconds = Integer.parseInt(o.getOrDefault("seconds", "20"));
        int keys = Integer.parseInt(o.getOrDefault("keys", "10000"));
        var writeLatencies = new ConcurrentLinkedQueue<Long>();
        var visibleLatencies = new ConcurrentLinkedQueue<Long>();
        var failures = new AtomicLong();
        long intervalNanos = 1_000_000_000L / rate;
        long total = (long) rate * seconds;
        long start = System.nanoTime();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (long i = 0; i < total; i++) {
                long due = start + i * intervalNanos;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait); // pacing the load generator itself
                }
                long n = i;
                pool.submit(() -> {
                    String key = "probe-" + ThreadLocalRandom.current().nextInt(keys);
                    long sent = System.nanoTime();
                    var written = send(HttpRequest.newBuilder(URI.create(write + "/write"))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(
                                    "{\"key\":\"" + key + "\",\"value\":\"p" + n + "\"}")));
                    long acknowledged = System.nanoTime();
                    if (written == null || written.statusCode() != 200) {
                        failures.incrementAndGet();
                        return null;
                    }
                    writeLatencies.add(acknowledged - sent);
                    var version = VERSION.matcher(written.body());
                    version.find();
                    var visible = send(HttpRequest.newBuilder(URI.create(
                                    read + "/read/" + key + "?min_version=" + version.group(1) + "&wait_ms=5000"))
                            .GET());
                    if (visible == null || visible.statusCode() != 200) {
                        failures.incrementAndGet();
                        return null;
                    }
                    visibleLatencies.add(System.nanoTime() - acknowledged);
                    return null;
                });
            }
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        var w = sorted(writeLatencies);
        var v = sorted(visibleLatencies);
        System.out.printf(
                "{\"rate\":%d,\"achieved_rate\":%.0f,\"writes\":%d,\"failures\":%d,"
                        + "\"write_p50_ms\":%.3f,\"write_p99_ms\":%.3f,"
                        + "\"lag_p50_ms\":%.3f,\"lag_p99_ms\":%.3f,\"lag_max_ms\":%.3f}%n",
                rate, w.length / elapsed, w.length, failures.get(),
                percentile(w, 50), percentile(w, 99), percentile(v, 50), percentile(v, 99), percentile(v, 100));
    }

    private static HttpResponse<String> send(HttpRequest.Builder request) {
        try {
            return HTTP.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            return null;
        }
    }

    private static long[] sorted(ConcurrentLinkedQueue<Long> values) {
        long[] array = values.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(array);
        return array;
    }

    private static double percentile(long[] sortedNanos, int p) {
        if (sortedNanos.length == 0) {
            return Double.NaN;
        }
        int index = (int) Math.ceil(p / 100.0 * sortedNanos.length) - 1;
        return sortedNanos[Math.max(0, Math.min(index, sortedNanos.length - 1))] / 1e6;
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> options = new HashMap<>();
        List<String> list = new ArrayList<>(Arrays.asList(args));
        for (int i = 1; i + 1 < list.size(); i += 2) {
            options.put(list.get(i).replaceFirst("^--", ""), list.get(i + 1));
        }
        return options;
    }
}
