package io.cqrs.testsupport;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * One service as an operator runs it: {@code java -Xmx256m -jar <service>.jar} on a free port with its settings in the
 * environment and nothing else, its output in a new log file per start. Tests (and the chaos suite) start, kill, freeze
 * and stop it.
 */
public final class ServiceProcess implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);

    /**
     * Environment variables the services (or Spring Boot's relaxed binding, or the JVM) would pick up: whatever a
     * developer's shell exports (a sourced {@code .env}) must not change a run.
     */
    private static final Pattern SERVICE_SETTING = Pattern.compile(
            "(CQRS_|PROJECTOR_|EVENT_|DB_POOL_|WRITE_DB_|READ_DB_|SPRING_|SERVER_|MANAGEMENT_|LOGGING_).*"
                    + "|REDIS_URL|JAVA_TOOL_OPTIONS|JDK_JAVA_OPTIONS|_JAVA_OPTIONS");

    private final String name;
    private final Path jar;
    private final Path logDirectory;
    private final int port;
    private final int managementPort;
    private final Map<String, String> environment;
    private final List<String> arguments;
    private final List<Path> logs = new ArrayList<>();
    private @Nullable Process process;

    /**
     * @param environment the service's settings; {@code SERVER_PORT} and {@code MANAGEMENT_PORT} are added (free
     *     ports), and {@code CQRS_API_KEYS} is {@link TestApiKeys#SETTING} unless given
     * @param arguments command-line arguments after the jar, such as {@code --cqrs.outbox.max-backoff=1s}
     */
    public ServiceProcess(
            String name, Path jar, Path logDirectory, Map<String, String> environment, List<String> arguments) {
        this.name = name;
        this.jar = jar;
        this.logDirectory = logDirectory;
        this.port = FreePorts.freePort();
        this.environment = new HashMap<>(environment);
        this.managementPort = FreePorts.freePort();
        this.environment.put("SERVER_PORT", Integer.toString(port));
        this.environment.put("MANAGEMENT_PORT", Integer.toString(managementPort));
        this.environment.putIfAbsent("CQRS_API_KEYS", TestApiKeys.SETTING);
        this.arguments = List.copyOf(arguments);
    }

    public int port() {
        return port;
    }

    public LocalHttp http() {
        return new LocalHttp(port);
    }

    /** The actuator's port: health details, metrics, the Prometheus scrape. */
    public LocalHttp management() {
        return new LocalHttp(managementPort).anonymous();
    }

    /** The log of the latest start. */
    public synchronized Path log() {
        if (logs.isEmpty()) {
            throw new IllegalStateException(name + " was never started");
        }
        return logs.getLast();
    }

    /** Starts the process (a new log file each time) without waiting for it to be ready. */
    public synchronized ServiceProcess start() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " is already running");
        }
        var command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                // Light on a small shared machine: quick start-up matters more here than peak throughput.
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                // A heap exhausted under load ends the process, which a test sees, instead of leaving a half-dead
                // service whose acceptor thread died.
                "-XX:+ExitOnOutOfMemoryError",
                "-jar",
                jar.toString()));
        command.addAll(arguments);
        try {
            Files.createDirectories(logDirectory);
            Path log = logDirectory.resolve(name + "-" + (logs.size() + 1) + ".log");
            logs.add(log);
            var builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            replaceSettings(builder.environment(), environment);
            Process started = builder.start();
            // Should the JVM end without stopping it (an interrupted run), take the service down with it.
            Runtime.getRuntime().addShutdownHook(new Thread(started::destroyForcibly));
            process = started;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start " + name, e);
        }
        return this;
    }

    /** Service settings only as the caller chose them; the rest (PATH, HOME, locale...) as inherited. */
    static void replaceSettings(Map<String, String> inherited, Map<String, String> chosen) {
        inherited
                .keySet()
                .removeIf(variable -> SERVICE_SETTING.matcher(variable).matches());
        inherited.putAll(chosen);
    }

    /** Waits until {@code /readyz} answers 200 on the API port; fails at once, with the log, if the process dies. */
    public ServiceProcess awaitReady() {
        await().alias(name + " ready on port " + port)
                .atMost(START_TIMEOUT)
                .pollInterval(Duration.ofMillis(250))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                .until(() -> {
                    if (!isAlive()) {
                        throw new IllegalStateException(name + " exited before it was ready:\n" + logTail(60));
                    }
                    return http().anonymous().get("/readyz").statusCode() == 200;
                });
        return this;
    }

    /** Whether the process runs (frozen or not): started, and neither killed, stopped nor dead. */
    public synchronized boolean isAlive() {
        Process current = process;
        return current != null && current.isAlive();
    }

    /** The process id of the running service. */
    public synchronized long pid() {
        Process current = process;
        if (current == null) {
            throw new IllegalStateException(name + " is not running");
        }
        return current.pid();
    }

    /**
     * Null while the service runs (or was never started, or was killed or stopped on purpose); otherwise how it ended by
     * itself.
     */
    public synchronized @Nullable String died() {
        Process current = process;
        if (current == null || current.isAlive()) {
            return null;
        }
        return name + "(exit=" + current.exitValue() + ")";
    }

    /** SIGKILL, as a crash or the OOM killer would: no shutdown hooks, no flushing, connections dropped mid-request. */
    public synchronized void kill() {
        Process current = process;
        if (current != null) {
            current.destroyForcibly();
            waitFor(current, STOP_TIMEOUT);
            process = null;
        }
    }

    /** SIGTERM and a bounded wait for the graceful shutdown (in-flight requests finish, buffers flush), then SIGKILL. */
    public synchronized void stop() {
        Process current = process;
        if (current == null) {
            return;
        }
        current.destroy();
        if (!waitFor(current, STOP_TIMEOUT)) {
            current.destroyForcibly();
            waitFor(current, STOP_TIMEOUT);
        }
        process = null;
    }

    /** Freezes the process (SIGSTOP), as a long GC pause or a hung host would; {@link #resume()} thaws it. */
    public synchronized void pause() {
        signal("STOP");
    }

    /** Thaws a process that {@link #pause()} froze; nothing when it was killed or stopped meanwhile. */
    public synchronized void resume() {
        if (process != null) {
            signal("CONT");
        }
    }

    private void signal(String signal) {
        var command = List.of("kill", "-" + signal, Long.toString(pid()));
        try {
            Process kill = new ProcessBuilder(command).inheritIO().start();
            if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("failed: " + String.join(" ", command));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + String.join(" ", command), e);
        }
    }

    /** The last lines of every log this service wrote in this run, for a failure report. */
    public synchronized String logTail(int lines) {
        var tail = new StringBuilder();
        for (Path log : logs) {
            tail.append("----- ").append(log).append(" (last ").append(lines).append(" lines)\n");
            try {
                List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
                all.subList(Math.max(0, all.size() - lines), all.size())
                        .forEach(line -> tail.append(line).append('\n'));
            } catch (IOException e) {
                tail.append("(cannot read: ").append(e.getMessage()).append(")\n");
            }
        }
        return tail.toString();
    }

    @Override
    public void close() {
        kill();
    }

    private static boolean waitFor(Process process, Duration timeout) {
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
