package io.cqrs.system;

import static org.awaitility.Awaitility.await;

import io.cqrs.testsupport.FreePorts;
import io.cqrs.testsupport.LocalHttp;
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
 * environment, output captured to a log file under {@code target/}, which a failing test prints the tail of.
 */
final class ServiceProcess {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);

    /** Environment variables the services (or Spring Boot's relaxed binding, or the JVM) would pick up. */
    private static final Pattern SERVICE_SETTING = Pattern.compile(
            "(?!CQRS_TEST_)(CQRS_|PROJECTOR_|EVENT_|DB_POOL_|WRITE_DB_|READ_DB_|SPRING_|SERVER_|MANAGEMENT_|LOGGING_).*"
                    + "|REDIS_URL|JAVA_TOOL_OPTIONS|JDK_JAVA_OPTIONS|_JAVA_OPTIONS");

    private final String name;
    private final Path jar;
    private final Map<String, String> environment;
    private final int port;
    private final Path logDirectory;
    private final List<Path> logs = new ArrayList<>();
    private @Nullable Process process;

    ServiceProcess(String name, Map<String, String> environment) {
        this.name = name;
        String jarProperty = "cqrs.jar." + name;
        this.jar = Path.of(required(jarProperty));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("No jar at " + jar + " (" + jarProperty + "): build the reactor first, e.g."
                    + " ./mvnw -B verify -pl system-tests -am");
        }
        this.port = FreePorts.freePort();
        this.environment = new HashMap<>(environment);
        this.environment.put("SERVER_PORT", Integer.toString(port));
        this.logDirectory = Path.of(required("cqrs.system-tests.logs"));
    }

    String name() {
        return name;
    }

    int port() {
        return port;
    }

    LocalHttp http() {
        return new LocalHttp(port);
    }

    /** Starts the process (a new log file each time) without waiting for it to be ready. */
    synchronized ServiceProcess start() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " is already running");
        }
        try {
            Files.createDirectories(logDirectory);
            Path log = logDirectory.resolve(name + "-" + (logs.size() + 1) + ".log");
            logs.add(log);
            var builder = new ProcessBuilder(
                            List.of(javaCommand(), "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", jar.toString()))
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            // Only what the test chose: settings exported in the developer's shell (a sourced .env) stay out.
            builder.environment()
                    .keySet()
                    .removeIf(variable -> SERVICE_SETTING.matcher(variable).matches());
            builder.environment().putAll(environment);
            Process started = builder.start();
            // Should the test JVM end without @AfterAll (interrupted run), take the service down with it.
            Runtime.getRuntime().addShutdownHook(new Thread(started::destroyForcibly));
            process = started;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot start " + name, e);
        }
        return this;
    }

    /** Waits until {@code /actuator/health/readiness} answers 200; fails at once, with the log, if the process dies. */
    ServiceProcess awaitReady() {
        await().alias(name + " ready on port " + port)
                .atMost(START_TIMEOUT)
                .pollInterval(Duration.ofMillis(250))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                .until(() -> {
                    Process current = process;
                    if (current == null || !current.isAlive()) {
                        throw new IllegalStateException(name + " exited before it was ready:\n" + logTail(60));
                    }
                    return http().get("/actuator/health/readiness").statusCode() == 200;
                });
        return this;
    }

    /** SIGKILL, as a crash or the OOM killer would: no shutdown hooks, no graceful anything. */
    synchronized void kill() {
        Process current = process;
        if (current != null) {
            current.destroyForcibly();
            waitFor(current, STOP_TIMEOUT);
        }
    }

    /** SIGTERM and a bounded wait for the graceful shutdown, then SIGKILL. */
    synchronized void stop() {
        Process current = process;
        if (current == null || !current.isAlive()) {
            return;
        }
        current.destroy();
        if (!waitFor(current, STOP_TIMEOUT)) {
            current.destroyForcibly();
            waitFor(current, STOP_TIMEOUT);
        }
    }

    boolean isAlive() {
        Process current = process;
        return current != null && current.isAlive();
    }

    /** The last lines of every log this service wrote in this run, for a failure report. */
    String logTail(int lines) {
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

    /** The java this test JVM runs on (a JDK 21+, as ./mvnw picked it), so services run on the same one. */
    private static String javaCommand() {
        return ProcessHandle.current()
                .info()
                .command()
                .orElseGet(() ->
                        Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    private static boolean waitFor(Process process, Duration timeout) {
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static String required(String property) {
        String value = System.getProperty(property);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("System property " + property + " is not set: run these tests through"
                    + " Maven (./mvnw -B verify -pl system-tests -am), which sets it in system-tests/pom.xml");
        }
        return value;
    }
}
