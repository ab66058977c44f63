import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The parts of the benchmark that wrk cannot do; {@code bench/run.sh} compiles it once ({@code java bench/Bench.java ...}
 * runs it by hand).
 *
 * <ul>
 *   <li>{@code load}: N events through POST /write/batch (1000 commands each), a few batches at once.
 *   <li>{@code caught-up}: waits until the read service reports no projection lag and nothing pending.
 *   <li>{@code probe}: writes at a fixed rate and measures, per write, the time from its 200 until GET /read with
 *       {@code min_version} returns that version: commit to visible, as a client sees it. Given the services'
 *       management URLs ({@code --write-management}, {@code --projector-management}, {@code --read-management}), it
 *       also reports each stage of that way as the services time it ({@code cqrs_stage_seconds}, scraped before and
 *       after the window). Given {@code --cpu-snapshots PREFIX}, it also takes {@code bench/cpu.py snapshot} into
 *       {@code PREFIX.cpu0} and {@code PREFIX.cpu1} right before and after the measured window (run from the
 *       repository's root), so that the CPU each component spent per write at that rate can be told.
 * </ul>
 *
 * Each prints one JSON object on its last line.
 */
public class Bench {

    /** The API keys bench/run.sh passes: one with the write scope, one with read. */
    private static final String WRITE_KEY = System.getenv().getOrDefault("WRITE_KEY", "");

    private static final String READ_KEY = System.getenv().getOrDefault("READ_KEY", "");

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
                                .header("Authorization", "Bearer " + WRITE_KEY)
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body.append("]}").toString())));
                        if (response.status() != 200) {
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
            if (response.status() > 0) {
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

    /**
     * Fixed-rate writes, each followed by a read-your-writes GET; latencies of both. A pacer hands out one tick per
     * 1/rate s; {@code --connections} workers (each a keep-alive connection per service, as wrk keeps them) take the
     * ticks, so a slow service shows as a lower achieved rate, not as thousands of new connections (one client
     * connection per request in flight cost more than the requests themselves).
     *
     * <p>{@code --warmup-seconds} of the same load run first, in the same process and on the same connections, and are
     * not measured: the probe shares the machine with what it measures, and a probe still compiling its own code took
     * three times the CPU of a warm one (1.1 ms against 0.36–0.39 ms per write and read, at 500 writes/s).
     */
    static void probe(Map<String, String> o) throws Exception {
        String write = o.get("write");
        String read = o.get("read");
        int rate = Integer.parseInt(o.getOrDefault("rate", "2000"));
        int seconds = Integer.parseInt(o.getOrDefault("seconds", "20"));
        int warmupSeconds = Integer.parseInt(o.getOrDefault("warmup-seconds", "0"));
        int keys = Integer.parseInt(o.getOrDefault("keys", "10000"));
        int connections = Integer.parseInt(o.getOrDefault("connections", "32"));
        var managements = new ArrayList<String>();
        for (String service : List.of("write-management", "projector-management", "read-management")) {
            if (o.get(service) != null) {
                managements.add(o.get(service));
            }
        }
        var ticks = new LinkedBlockingQueue<Tick>();
        // Platform threads: a virtual thread's blocking read wakes the poller and then a carrier, two hand-offs where a
        // platform thread has one, on the two cores the services need.
        var workers = new ArrayList<Thread>();
        for (int c = 0; c < connections; c++) {
            workers.add(Thread.ofPlatform().daemon().start(() -> {
                var writes = new KeepAlive(URI.create(write), WRITE_KEY);
                var reads = new KeepAlive(URI.create(read), READ_KEY);
                try {
                    for (Tick tick; (tick = ticks.take()) != Tick.END; ) {
                        probeOnce(writes, reads, keys, tick);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    writes.close();
                    reads.close();
                }
            }));
        }
        if (warmupSeconds > 0) {
            pace(ticks, connections, rate, warmupSeconds, new Window());
        }
        String cpuSnapshots = o.get("cpu-snapshots");
        var stagesBefore = stageBuckets(managements);
        cpuSnapshot(cpuSnapshots, ".cpu0");
        var window = new Window();
        long start = System.nanoTime();
        pace(ticks, connections, rate, seconds, window);
        for (int c = 0; c < connections; c++) {
            ticks.add(Tick.END);
        }
        for (Thread worker : workers) {
            worker.join();
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        cpuSnapshot(cpuSnapshots, ".cpu1");
        var stages = stages(stagesBefore, stageBuckets(managements));
        var w = sorted(window.writeLatencies);
        var v = sorted(window.visibleLatencies);
        System.out.printf(
                "{\"rate\":%d,\"achieved_rate\":%.0f,\"writes\":%d,\"failures\":%d,"
                        + "\"write_p50_ms\":%.3f,\"write_p99_ms\":%.3f,"
                        + "\"lag_p50_ms\":%.3f,\"lag_p99_ms\":%.3f,\"lag_max_ms\":%.3f,\"failure_reasons\":{%s}%s}%n",
                rate, w.length / elapsed, w.length, window.failures.get(),
                percentile(w, 50), percentile(w, 99), percentile(v, 50), percentile(v, 99), percentile(v, 100),
                window.reasons.entrySet().stream()
                        .map(e -> "\"" + e.getKey().replace("\"", "'") + "\":" + e.getValue())
                        .collect(Collectors.joining(",")),
                managements.isEmpty() ? "" : ",\"stages\":{" + stages + "}");
    }

    /** {@code bench/cpu.py snapshot} into {@code prefix + suffix}; nothing without a prefix. */
    private static void cpuSnapshot(String prefix, String suffix) throws Exception {
        if (prefix == null) {
            return;
        }
        var snapshot = new ProcessBuilder("python3", "bench/cpu.py", "snapshot")
                .redirectOutput(new File(prefix + suffix))
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        if (snapshot.waitFor() != 0) {
            throw new IllegalStateException("bench/cpu.py snapshot failed with exit code " + snapshot.exitValue());
        }
    }

    /** What one window of the probe measured. */
    private static final class Window {
        final ConcurrentLinkedQueue<Long> writeLatencies = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Long> visibleLatencies = new ConcurrentLinkedQueue<>();
        final AtomicLong failures = new AtomicLong();
        final ConcurrentHashMap<String, AtomicLong> reasons = new ConcurrentHashMap<>();

        void failed(String reason) {
            failures.incrementAndGet();
            reasons.computeIfAbsent(reason, r -> new AtomicLong()).incrementAndGet();
        }
    }

    /** A write to make, and the window it counts in; {@link #END} stops a worker. */
    private record Tick(long n, Window window) {
        static final Tick END = new Tick(-1, new Window());
    }

    /**
     * Hands out {@code rate} ticks a second for {@code seconds}, counted in {@code window}. Ticks the workers could not
     * take in time are dropped: the achieved rate says so.
     */
    private static void pace(LinkedBlockingQueue<Tick> ticks, int connections, int rate, int seconds, Window window)
            throws InterruptedException {
        long intervalNanos = 1_000_000_000L / rate;
        long total = (long) rate * seconds;
        long start = System.nanoTime();
        for (long i = 0; i < total; i++) {
            long wait = start + i * intervalNanos - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait); // pacing the load generator itself
            }
            if (ticks.size() < connections) {
                ticks.add(new Tick(i, window));
            }
        }
    }

    /** One write, then the read-your-writes GET of its version. */
    private static void probeOnce(KeepAlive writes, KeepAlive reads, int keys, Tick tick) {
        String key = "probe-" + ThreadLocalRandom.current().nextInt(keys);
        long sent = System.nanoTime();
        var written = writes.send("POST", "/write", "{\"key\":\"" + key + "\",\"value\":\"p" + tick.n() + "\"}");
        long acknowledged = System.nanoTime();
        if (written.status() != 200) {
            tick.window().failed("write " + written.reason());
            return;
        }
        tick.window().writeLatencies.add(acknowledged - sent);
        var version = VERSION.matcher(written.body());
        version.find();
        var visible = reads.send("GET", "/read/" + key + "?min_version=" + version.group(1) + "&wait_ms=5000", null);
        if (visible.status() != 200) {
            tick.window().failed("read " + visible.reason());
            return;
        }
        tick.window().visibleLatencies.add(System.nanoTime() - acknowledged);
    }

    private static final Pattern STAGE_BUCKET =
            Pattern.compile("^cqrs_stage_seconds_bucket\\{(.*)} (\\S+)$", Pattern.MULTILINE);
    private static final Pattern LABEL = Pattern.compile("(\\w+)=\"([^\"]*)\"");

    /**
     * Every stage's histogram as the services expose it at {@code /actuator/prometheus}: stage → upper bound (s) →
     * cumulative count, summed over the services' series. A service that does not answer adds nothing.
     */
    static Map<String, TreeMap<Double, Double>> stageBuckets(List<String> managements) {
        var stages = new TreeMap<String, TreeMap<Double, Double>>();
        for (String management : managements) {
            var scrape = send(HttpRequest.newBuilder(URI.create(management + "/actuator/prometheus")).GET());
            if (scrape.status() != 200) {
                System.err.println("no stage metrics from " + management + ": " + scrape.reason());
                continue;
            }
            var bucket = STAGE_BUCKET.matcher(scrape.body());
            while (bucket.find()) {
                String stage = null;
                double le = Double.NaN;
                var label = LABEL.matcher(bucket.group(1));
                while (label.find()) {
                    switch (label.group(1)) {
                        case "stage" -> stage = label.group(2);
                        case "le" -> le = label.group(2).equals("+Inf")
                                ? Double.POSITIVE_INFINITY
                                : Double.parseDouble(label.group(2));
                        default -> {}
                    }
                }
                if (stage != null && !Double.isNaN(le)) {
                    stages.computeIfAbsent(stage, k -> new TreeMap<>())
                            .merge(le, Double.parseDouble(bucket.group(2)), Double::sum);
                }
            }
        }
        return stages;
    }

    /** The stages in the order an event goes through them; the services' own names. */
    private static final List<String> STAGES = List.of(
            "commit_to_xadd", "xadd_to_projector", "projector_transaction", "notify_to_listener", "listener_to_reader");

    /** The stages' figures over the window, from the histograms before and after: JSON members, in pipeline order. */
    static String stages(
            Map<String, TreeMap<Double, Double>> before, Map<String, TreeMap<Double, Double>> after) {
        record Stage(String name, double p50, double p99, long count) {}
        var figures = new ArrayList<Stage>();
        after.forEach((name, buckets) -> {
            var delta = new TreeMap<Double, Double>();
            var old = before.getOrDefault(name, new TreeMap<>());
            buckets.forEach((le, n) -> delta.put(le, n - old.getOrDefault(le, 0.0)));
            figures.add(new Stage(name, quantile(delta, 0.50), quantile(delta, 0.99), Math.round(delta.lastEntry().getValue())));
        });
        figures.sort(java.util.Comparator.comparingInt(
                f -> STAGES.contains(f.name()) ? STAGES.indexOf(f.name()) : STAGES.size()));
        return figures.stream()
                .map(f -> String.format(
                        Locale.ROOT,
                        "\"%s\":{\"p50_ms\":%s,\"p99_ms\":%s,\"count\":%d}",
                        f.name(), json(f.p50()), json(f.p99()), f.count()))
                .collect(Collectors.joining(","));
    }

    /**
     * The q-quantile of cumulative bucket counts in milliseconds, as Prometheus' histogram_quantile estimates it: linear
     * within the bucket it falls in, the lowest bucket starting at 0, the highest finite bound when it falls beyond.
     */
    static double quantile(TreeMap<Double, Double> cumulative, double q) {
        if (cumulative.isEmpty() || cumulative.lastEntry().getValue() <= 0) {
            return Double.NaN;
        }
        double rank = q * cumulative.lastEntry().getValue();
        double lowerBound = 0;
        double lowerCount = 0;
        for (var bucket : cumulative.entrySet()) {
            if (bucket.getValue() >= rank) {
                if (bucket.getKey().isInfinite()) {
                    return lowerBound * 1000;
                }
                double inBucket = bucket.getValue() - lowerCount;
                double fraction = inBucket <= 0 ? 1 : (rank - lowerCount) / inBucket;
                return (lowerBound + (bucket.getKey() - lowerBound) * fraction) * 1000;
            }
            lowerBound = bucket.getKey();
            lowerCount = bucket.getValue();
        }
        return lowerBound * 1000;
    }

    private static String json(double value) {
        return Double.isNaN(value) ? "null" : String.format(Locale.ROOT, "%.3f", value);
    }

    /** An HTTP answer, or {@code status} -1 and the exception when there was none. */
    record Reply(int status, String body, String error) {
        String reason() {
            return status > 0 ? "HTTP " + status : error;
        }
    }

    private static Reply send(HttpRequest.Builder request) {
        try {
            var response =
                    HTTP.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(response.statusCode(), response.body(), null);
        } catch (Exception e) {
            return new Reply(-1, "", e.getClass().getSimpleName() + ": " + e.getMessage());
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
    /**
     * One keep-alive HTTP/1.1 connection, for the probe: a request at a time, Content-Length or chunked answers. The
     * JDK's HttpClient opened a connection per request in flight and took more CPU than the services it measured.
     */
    static final class KeepAlive {
        private final String host;
        private final int port;
        private final String apiKey;
        private Socket socket;
        private BufferedInputStream in;
        private OutputStream out;

        KeepAlive(URI base, String apiKey) {
            this.host = base.getHost();
            this.port = base.getPort();
            this.apiKey = apiKey;
        }

        Reply send(String method, String path, String body) {
            try {
                if (socket == null) {
                    socket = new Socket(host, port);
                    socket.setTcpNoDelay(true);
                    socket.setSoTimeout(30_000);
                    in = new BufferedInputStream(socket.getInputStream());
                    out = new BufferedOutputStream(socket.getOutputStream());
                }
                byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
                String head = method + " " + path + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\n"
                        + "Authorization: Bearer " + apiKey + "\r\n"
                        + (body == null ? "" : "Content-Type: application/json\r\n")
                        + "Content-Length: " + content.length + "\r\n\r\n";
                out.write(head.getBytes(StandardCharsets.US_ASCII));
                out.write(content);
                out.flush(); // head and body in one segment
                String status = line();
                int code = Integer.parseInt(status.substring(9, 12));
                long length = -1;
                boolean chunked = false;
                boolean closes = false;
                for (String header = line(); !header.isEmpty(); header = line()) {
                    String lower = header.toLowerCase(Locale.ROOT);
                    if (lower.startsWith("content-length:")) {
                        length = Long.parseLong(lower.substring(15).trim());
                    } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                        chunked = true;
                    } else if (lower.startsWith("connection:") && lower.contains("close")) {
                        closes = true;
                    }
                }
                var answer = new ByteArrayOutputStream();
                if (chunked) {
                    for (int size; (size = Integer.parseInt(line().split(";")[0].trim(), 16)) > 0; line()) {
                        answer.write(in.readNBytes(size));
                    }
                    line();
                } else if (length > 0) {
                    answer.write(in.readNBytes((int) length));
                }
                if (closes) {
                    close();
                }
                return new Reply(code, answer.toString(StandardCharsets.UTF_8), null);
            } catch (IOException | RuntimeException e) {
                close();
                return new Reply(-1, "", e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }

        private String line() throws IOException {
            var bytes = new ByteArrayOutputStream();
            for (int b; (b = in.read()) != '\n'; ) {
                if (b < 0) {
                    throw new EOFException("connection closed");
                }
                if (b != '\r') {
                    bytes.write(b);
                }
            }
            return bytes.toString(StandardCharsets.US_ASCII);
        }

        void close() {
            try {
                if (socket != null) {
                    socket.close();
                }
            } catch (IOException ignored) {
                // closing anyway
            }
            socket = null;
        }
    }
}
