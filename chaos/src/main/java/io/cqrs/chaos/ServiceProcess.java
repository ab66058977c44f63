package io.cqrs.chaos;

import io.cqrs.testsupport.FreePorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/** One of the three services, started from its repackaged jar with {@code -Xmx256m}, that a scenario may kill. */
final class ServiceProcess implements AutoCloseable {

    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final String name;
    private final Path jar;
    private final Path work;
    private final int port;
    private final Map<String, String> environment;
    private final List<String> arguments;
    private @Nullable Process process;

    ServiceProcess(String name, Path jar, Path work, Map<String, String> environment, List<String> arguments) {
        this.name = name;
        this.jar = jar;
        this.work = work;
        this.port = FreePorts.freePort();
        this.environment = Map.copyOf(environment);
        this.arguments = List.copyOf(arguments);
    }

    String name() {
        return name;
    }

    int port() {
        return port;
    }

    Path log() {
        return work.resolve(name + ".log");
    }

    /** Starts the service and waits until its readiness probe says UP. */
    synchronized void start() {
        var command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                // Light on a small shared machine: quick start-up matters more here than peak throughput.
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                // A heap exhausted under load ends the process, which the suite reports, instead of leaving a
                // half-dead service whose acceptor thread died.
                "-XX:+ExitOnOutOfMemoryError",
                "-jar",
                jar.toString()));
        command.addAll(arguments);
        var builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()));
        builder.environment().putAll(environment);
        builder.environment().put("SERVER_PORT", Integer.toString(port));
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name, e);
        }
        Shell.remember(work, process.pid());
        awaitReady(Duration.ofSeconds(90));
    }

    private void awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            var current = process;
            if (current == null || !current.isAlive()) {
                throw new IllegalStateException(name + " exited during start-up; see " + log());
            }
            if (ready()) {
                return;
            }
            Shell.sleep(250);
        }
        throw new IllegalStateException(name + " not ready within " + timeout + "; see " + log());
    }

    private boolean ready() {
        try {
            var response = HTTP.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/health/readiness"))
                            .timeout(Duration.ofSeconds(2))
                            .build(),
                    HttpResponse.BodyHandlers.discarding());
            return response.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * Null while the service runs (or was never started or was stopped on purpose); otherwise how it ended by itself.
     */
    synchronized @Nullable String died() {
        var current = process;
        if (current == null || current.isAlive()) {
            return null;
        }
        return name + "(exit=" + current.exitValue() + ")";
    }

    /** {@code kill -9}: no shutdown hooks, no flushing, connections dropped mid-request. */
    synchronized void kill() {
        var current = process;
        if (current != null) {
            current.destroyForcibly();
            waitFor(current, 30);
            process = null;
        }
    }

    /** Freezes the process (SIGSTOP), as a long GC pause or a hung host would; {@link #resume()} thaws it. */
    synchronized void pause() {
        Shell.signal(pid(), "STOP");
    }

    synchronized void resume() {
        Shell.signal(pid(), "CONT");
    }

    private long pid() {
        var current = process;
        if (current == null) {
            throw new IllegalStateException(name + " is not running");
        }
        return current.pid();
    }

    /** The service's Prometheus page, or an empty string when it does not answer. */
    String metrics() {
        try {
            return HTTP.send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/prometheus"))
                                    .timeout(Duration.ofSeconds(5))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    /** GET a path of the service. */
    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .timeout(Duration.ofSeconds(5))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** SIGTERM: a graceful shutdown (in-flight requests finish, buffers are flushed). */
    synchronized void stop() {
        var current = process;
        if (current != null) {
            current.destroy();
            if (!waitFor(current, 40)) {
                current.destroyForcibly();
                waitFor(current, 10);
            }
            process = null;
        }
    }

    private static boolean waitFor(Process process, int seconds) {
        try {
            return process.waitFor(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public void close() {
        kill();
    }
}
