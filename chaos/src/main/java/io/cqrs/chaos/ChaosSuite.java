package io.cqrs.chaos;

import io.cqrs.chaos.Checker.Result;
import io.cqrs.chaos.LoadGenerator.Tally;
import io.cqrs.testsupport.ServiceProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * The fault-injection suite (issue 8): its own PostgreSQL clusters (write and read database) and Redis on free
 * loopback ports, the three services from their jars, continuous concurrent writes and reads, seven faults, and after
 * each one a check of the read model against the write database. One summary line per scenario, a total line, and a
 * non-zero exit status on any loss, mismatch, double application or failed check.
 *
 * <p>Settings (environment): {@code CQRS_CHAOS_DIR} the work directory (created if missing, deleted by run.sh),
 * {@code CQRS_CHAOS_ROOT} the repository (for the jars), {@code CQRS_CHAOS_PG_BIN} PostgreSQL's binaries.
 */
public final class ChaosSuite {

    private static final String STREAM = "cqrs:events";
    private static final int KEYS_PER_SCENARIO = 40;
    private static final int WRITERS = 4;
    private static final int READERS = 2;

    private final Path work;
    private final PostgresCluster writeDb;
    private final PostgresCluster readDb;
    private final RedisServer redis;
    private final ServiceProcess write;
    private final ServiceProcess projector;
    private final ServiceProcess secondProjector;
    private final ServiceProcess read;
    private final LoadGenerator load;
    private final Checker checker;
    private long totalAcknowledged;
    private long totalUncertain;
    private long totalLost;
    private long totalMismatched;
    private long totalDuplicates;
    private long totalPartial;
    private long totalReadCountMismatched;
    private long totalFailedChecks;

    private ChaosSuite(Path work, Path root, Path pgBin, Resources resources) {
        this.work = work;
        log("work directory " + work);
        this.redis = resources.add(new RedisServer(work));
        redis.start();
        var clusters = List.of(
                CompletableFuture.supplyAsync(
                        () -> resources.add(PostgresCluster.create(work, pgBin, "write-db", "cqrs_write"))),
                CompletableFuture.supplyAsync(
                        () -> resources.add(PostgresCluster.create(work, pgBin, "read-db", "cqrs_read"))));
        this.writeDb = clusters.get(0).join();
        this.readDb = clusters.get(1).join();
        log("PostgreSQL clusters up: " + writeDb.jdbcUrl("cqrs_write") + ", " + readDb.jdbcUrl("cqrs_read") + "; Redis "
                + redis.url());

        Map<String, String> shared = Map.of("REDIS_URL", redis.url(), "EVENT_STREAM_NAME", STREAM);
        this.write = resources.add(new ServiceProcess(
                "write-service",
                jar(root, "write-service"),
                work,
                with(
                        shared,
                        "WRITE_DB_URL",
                        writeDb.jdbcUrl("cqrs_write"),
                        "CQRS_OUTBOX_SWEEP_INTERVAL",
                        "200ms",
                        "CQRS_OUTBOX_SWEEP_DELAY",
                        "500ms",
                        "CQRS_OUTBOX_LOSS_CHECK_INTERVAL",
                        "1s"),
                List.of("--cqrs.outbox.max-backoff=1s")));
        this.projector = resources.add(projector(root, shared, "projector-1"));
        this.secondProjector = resources.add(projector(root, shared, "projector-2"));
        this.read = resources.add(new ServiceProcess(
                "read-service",
                jar(root, "read-service"),
                work,
                with(
                        shared,
                        "READ_DB_URL",
                        readDb.jdbcUrl("cqrs_read"),
                        "CQRS_READ_COUNT_FLUSH_INTERVAL",
                        "200ms",
                        "CQRS_HEALTH_LAG_THRESHOLD",
                        "2s"),
                List.of()));
        // The projector migrates the read database, so the read service starts after it.
        CompletableFuture.allOf(
                        CompletableFuture.runAsync(() -> start(write)),
                        CompletableFuture.runAsync(() -> start(projector)))
                .join();
        start(read);
        log("services up: write " + write.port() + ", projector " + projector.port() + ", read " + read.port());
        this.load = new LoadGenerator(write.port(), read.port());
        this.checker = new Checker(writeDb, readDb, load);
    }

    public static void main(String[] args) {
        long started = System.nanoTime();
        Path work = Path.of(System.getenv()
                .getOrDefault(
                        "CQRS_CHAOS_DIR",
                        System.getProperty("java.io.tmpdir") + "/cqrs-chaos-"
                                + ProcessHandle.current().pid()));
        Path root = Path.of(System.getenv().getOrDefault("CQRS_CHAOS_ROOT", "."));
        Path pgBin = Path.of(System.getenv().getOrDefault("CQRS_CHAOS_PG_BIN", "/usr/lib/postgresql/15/bin"));
        int status;
        var resources = new Resources();
        // Also on SIGTERM/SIGINT (run.sh's time limit, Ctrl-C): nothing this suite started outlives it.
        Runtime.getRuntime().addShutdownHook(new Thread(resources::close));
        try {
            Files.createDirectories(work);
            // PostgreSQL runs as its own user when we are root: it must be able to reach its directories.
            Shell.run("chmod", "755", work.toString());
            status = new ChaosSuite(work, root, pgBin, resources).runAll(started);
        } catch (IOException | RuntimeException e) {
            System.out.println("chaos suite could not run: " + e);
            e.printStackTrace(System.out);
            printLogs(work);
            status = 2;
        } finally {
            resources.close();
        }
        System.exit(status);
    }

    private int runAll(long started) {
        scenario("1-kill-projector", extras -> {
            projector.kill();
            Shell.sleep(1000);
            start(projector);
            return 0;
        });
        scenario("2-kill-writer-before-publish", extras -> {
            // Redis frozen: commits succeed, their XADDs hang; the write service dies with events committed and
            // unpublished (and XADDs maybe still in Redis' socket buffer: those arrive twice, harmlessly).
            redis.pause();
            Shell.sleep(2500);
            write.kill();
            extras.add("unpublished_at_kill=" + unpublishedOutboxRows());
            redis.resume();
            start(write);
            return 0;
        });
        scenario("3-redis-data-lost", extras -> {
            // The projector frozen first, so that the stream holds published events it has not consumed: without
            // the write side's replay, they would be lost with Redis' data.
            double replaysBefore = metric(write, "cqrs_outbox_replays_total");
            projector.pause();
            Shell.sleep(1500);
            redis.kill();
            load.switchKeys(keys(
                    "3-redis-data-lost", "restarted")); // the keys published into the lost stream stay as they were
            redis.start();
            projector.resume();
            Shell.sleep(3000);
            double replays = metric(write, "cqrs_outbox_replays_total") - replaysBefore;
            extras.add("replays=" + (long) replays);
            return replays >= 1 ? 0 : 1;
        });
        scenario("4-restart-read-db", extras -> {
            readDb.restart();
            return 0;
        });
        scenario("5-write-db-down", extras -> {
            writeDb.stop();
            Shell.sleep(4000);
            writeDb.start();
            return 0;
        });
        scenario("6-poison-entries", extras -> {
            long before = dlqLength();
            List<List<String>> poison = List.of(
                    List.of("type", "record.written", "schema", "1", "command_id", "not-a-number", "key", "poison-1"),
                    List.of("type", "record.exploded", "schema", "1", "command_id", "1", "key", "poison-2"),
                    List.of("type", "record.written", "schema", "99", "command_id", "1", "key", "poison-3"),
                    List.of("garbage", "yes"),
                    List.of(
                            "type",
                            "record.written",
                            "schema",
                            "1",
                            "command_id",
                            "1",
                            "key",
                            "poison-5",
                            "value",
                            "v",
                            "version",
                            "1",
                            "write_count",
                            "1",
                            "occurred_at",
                            "yesterday"));
            for (List<String> fields : poison) {
                var command = new ArrayList<>(List.of("XADD", STREAM, "*"));
                command.addAll(fields);
                redis.cli(command.toArray(String[]::new));
                Shell.sleep(300);
            }
            long deadline = System.nanoTime() + 30_000_000_000L;
            long deadLettered;
            do {
                Shell.sleep(250);
                deadLettered = dlqLength() - before;
            } while (deadLettered < poison.size() && System.nanoTime() < deadline);
            extras.add("dead_lettered=" + deadLettered + "/" + poison.size());
            return deadLettered == poison.size() ? 0 : 1;
        });
        scenario("7-two-projectors-kill-one", extras -> {
            start(secondProjector);
            Shell.sleep(2000);
            // Killed while holding a batch, for certain: both projectors frozen for a moment so that entries wait,
            // which are then read into projector-1's pending list (as its own loop would) right before its kill -9.
            projector.pause();
            secondProjector.pause();
            Shell.sleep(500);
            String taken =
                    redis.cli("XREADGROUP", "GROUP", "projector", "projector-1", "COUNT", "50", "STREAMS", STREAM, ">");
            projector.kill();
            secondProjector.resume();
            long held = pendingOf("projector-1");
            extras.add("held_by_killed=" + held);
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (pendingOf("projector-1") > 0 && System.nanoTime() < deadline) {
                Shell.sleep(250); // the survivor claims them once idle for PROJECTOR_CLAIM_IDLE
            }
            long claimed = (long) metric(secondProjector, "cqrs_projector_claimed_total");
            extras.add("claimed_by_survivor=" + claimed);
            return taken.isBlank() || held == 0 || pendingOf("projector-1") > 0 || claimed < held ? 1 : 0;
        });

        long seconds = (System.nanoTime() - started) / 1_000_000_000L;
        boolean clean = totalLost == 0
                && totalMismatched == 0
                && totalDuplicates == 0
                && totalPartial == 0
                && totalReadCountMismatched == 0
                && totalFailedChecks == 0;
        System.out.printf(
                "total acknowledged=%d uncertain=%d lost=%d mismatched=%d duplicates=%d partial=%d"
                        + " read_count_mismatched=%d failed_checks=%d duration_s=%d result=%s%n",
                totalAcknowledged,
                totalUncertain,
                totalLost,
                totalMismatched,
                totalDuplicates,
                totalPartial,
                totalReadCountMismatched,
                totalFailedChecks,
                seconds,
                clean ? "PASS" : "FAIL");
        if (!clean) {
            printLogs(work);
        }
        return clean ? 0 : 1;
    }

    /** A fault to inject while the load runs; returns how many of its own checks failed. */
    @FunctionalInterface
    interface Fault {
        int inject(List<String> extras) throws Exception;
    }

    private void scenario(String name, Fault fault) {
        log("scenario " + name + ": load on");
        var tally = new Tally();
        // Three key sets: before the fault, during it, after recovery. Keys are never written again once their
        // phase is over, so an event lost in a fault cannot be covered up by a later write to the same key.
        load.start(tally, keys(name, "before"), WRITERS, READERS);
        var extras = new ArrayList<String>();
        int failedChecks;
        try {
            Shell.sleep(2000);
            log("scenario " + name + ": fault");
            load.switchKeys(keys(name, "during"));
            failedChecks = fault.inject(extras);
            log("scenario " + name + ": recovered, load continues on other keys");
            load.switchKeys(keys(name, "after"));
            Shell.sleep(2000);
        } catch (Exception e) {
            extras.add("error=" + e.toString().replace(' ', '_'));
            failedChecks = 1;
        } finally {
            load.stop();
        }
        log("scenario " + name + ": load off, checking");
        // A service that ended without being told to is a failure of its own; start it again for the next scenarios.
        for (ServiceProcess service : List.of(write, projector, read)) {
            String died = service.died();
            if (died != null) {
                extras.add("died=" + died);
                failedChecks++;
                log("scenario " + name + ": " + died + " ended by itself; see " + service.log()
                        + "; starting it again");
                service.kill();
                start(service);
            }
        }
        Result result = checker.check();
        String health = readHealth();
        if (!"UP".equals(health)) {
            failedChecks++;
        }
        long bad503 = tally.slow503.sum() + tally.without503RetryAfter.sum();
        failedChecks += (int) Math.min(Integer.MAX_VALUE, bad503 + tally.unexpected.sum());
        if (tally.fast503.sum() + tally.slow503.sum() > 0) {
            extras.add("fast_503=" + tally.fast503.sum() + " slow_503=" + tally.slow503.sum() + " without_retry_after="
                    + tally.without503RetryAfter.sum());
        }
        String line = String.format(
                "scenario=%s acknowledged=%d uncertain=%d lost=%d mismatched=%d duplicates=%d partial=%d"
                        + " read_count_mismatched=%d converged_ms=%d reads=%d uncertain_reads=%d retries=%d"
                        + " health=%s failed_checks=%d%s",
                name,
                tally.acknowledged.sum(),
                tally.uncertain.sum(),
                result.lost(),
                result.mismatched(),
                result.duplicates(),
                result.partial(),
                result.readCountMismatched(),
                result.convergedMs(),
                tally.reads.sum(),
                tally.uncertainReads.sum(),
                tally.retries.sum(),
                health,
                failedChecks,
                extras.isEmpty() ? "" : " " + String.join(" ", extras));
        System.out.println(line);
        result.examples().forEach(example -> System.out.println("  mismatch " + example));
        totalAcknowledged += tally.acknowledged.sum();
        totalUncertain += tally.uncertain.sum();
        totalLost += result.lost();
        totalMismatched += result.mismatched();
        totalDuplicates += result.duplicates();
        totalPartial += result.partial();
        totalReadCountMismatched += result.readCountMismatched();
        totalFailedChecks += failedChecks;
    }

    /** A scenario's keys for one phase; some with a slash, a space and a non-ASCII letter, URL-encoded on the way. */
    private static List<String> keys(String scenario, String phase) {
        String prefix = "s" + scenario.charAt(0) + "-" + phase;
        return IntStream.range(0, KEYS_PER_SCENARIO)
                .mapToObj(i -> i % 10 == 9 ? prefix + "/key ü " + i : prefix + "-k" + i)
                .toList();
    }

    /** The read service's /health status once the projection caught up (it may take a moment to say UP). */
    private String readHealth() {
        String status = "NONE";
        long deadline = System.nanoTime() + 15_000_000_000L;
        var pattern = Pattern.compile("\"status\"\\s*:\\s*\"(\\w+)\"");
        while (System.nanoTime() < deadline) {
            try {
                var matcher = pattern.matcher(read.http().get("/health").body());
                status = matcher.find() ? matcher.group(1) : "UNPARSEABLE";
                if ("UP".equals(status)) {
                    return status;
                }
            } catch (UncheckedIOException e) {
                status = "NO_ANSWER";
            }
            Shell.sleep(250);
        }
        return status;
    }

    /** Entries in the projectors' group pending for one consumer. */
    private long pendingOf(String consumer) {
        // XPENDING summary: count, smallest id, greatest id, then one (consumer, count) pair per consumer.
        String[] words = redis.cli("XPENDING", STREAM, "projector").split("\\s+");
        for (int i = 0; i + 1 < words.length; i++) {
            if (words[i].equals(consumer)) {
                return Long.parseLong(words[i + 1]);
            }
        }
        return 0;
    }

    private long unpublishedOutboxRows() {
        try (var connection = writeDb.connect("cqrs_write");
                var rows = connection
                        .createStatement()
                        .executeQuery("select count(*) from outbox where published_at is null")) {
            rows.next();
            return rows.getLong(1);
        } catch (java.sql.SQLException e) {
            return -1;
        }
    }

    private long dlqLength() {
        return Long.parseLong(redis.cli("XLEN", STREAM + ":dlq").trim());
    }

    /** Starts a service, notes its process id for run.sh, and waits until it is ready. */
    private void start(ServiceProcess service) {
        service.start();
        Shell.remember(work, service.pid());
        service.awaitReady();
    }

    /** Sum of a counter over its series on the service's Prometheus page (0 when it does not answer). */
    private static double metric(ServiceProcess service, String name) {
        String page;
        try {
            page = service.http().get("/actuator/prometheus").body();
        } catch (UncheckedIOException e) {
            page = "";
        }
        double sum = 0;
        for (String line : page.split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    private ServiceProcess projector(Path root, Map<String, String> shared, String name) {
        return new ServiceProcess(
                name,
                jar(root, "projector-service"),
                work,
                with(
                        shared,
                        "READ_DB_URL",
                        readDb.jdbcUrl("cqrs_read"),
                        "PROJECTOR_CONSUMER_NAME",
                        name,
                        "PROJECTOR_BATCH_SIZE",
                        "200",
                        "PROJECTOR_POLL_INTERVAL",
                        "200ms",
                        "PROJECTOR_CLAIM_IDLE",
                        "2s",
                        "PROJECTOR_CLAIM_INTERVAL",
                        "500ms",
                        "PROJECTOR_RETRY_MAX_BACKOFF",
                        "1s",
                        "PROJECTOR_TRIM_INTERVAL",
                        "2s"),
                List.of());
    }

    private static Path jar(Path root, String module) {
        Path target = root.resolve(module).resolve("target");
        try (var files = Files.list(target)) {
            return files.filter(p -> p.getFileName().toString().matches(module + "-.*-SNAPSHOT\\.jar"))
                    .findFirst()
                    .orElseThrow(() -> new IllegalStateException(
                            "no " + module + " jar in " + target + ": run ./mvnw -B -q -DskipTests package"));
        } catch (IOException e) {
            throw new UncheckedIOException("no " + target + ": run ./mvnw -B -q -DskipTests package", e);
        }
    }

    private static Map<String, String> with(Map<String, String> base, String... pairs) {
        var all = new java.util.HashMap<>(base);
        for (int i = 0; i + 1 < pairs.length; i += 2) {
            all.put(pairs[i], pairs[i + 1]);
        }
        return all;
    }

    /** The tails of every log in the work directory, for a run that failed. */
    private static void printLogs(Path work) {
        try (var files = Files.walk(work, 2)) {
            files.filter(p -> p.getFileName().toString().endsWith(".log"))
                    .sorted()
                    .forEach(log -> {
                        System.out.println("---- last lines of " + log);
                        System.out.println(Shell.tail(log, 40));
                    });
        } catch (IOException | RuntimeException e) {
            System.out.println("(cannot list the logs in " + work + ": " + e + ")");
        }
    }

    private static void log(String message) {
        System.err.println("[chaos " + Instant.now() + "] " + message);
    }

    /** Everything the suite started, stopped in reverse order, once, whatever state it is in. */
    static final class Resources {
        private final List<AutoCloseable> started = new ArrayList<>();
        private boolean closed;

        synchronized <T extends AutoCloseable> T add(T resource) {
            started.add(resource);
            return resource;
        }

        synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            for (AutoCloseable resource : started.reversed()) {
                try {
                    resource.close();
                } catch (Exception e) {
                    log("clean-up of " + resource + " failed: " + e);
                }
            }
        }
    }
}
