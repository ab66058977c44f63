package io.cqrs.testsupport;

import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;

/**
 * A Redis server of a test's own, on a free loopback port, that the test may stop and start again to play an outage
 * without disturbing anyone else's Redis. Needs {@code redis-server} on the PATH (Debian's redis-server package).
 */
public final class RedisProcess implements AutoCloseable {

    private final int port;
    private final @Nullable Path dir;
    private @Nullable Process process;

    private RedisProcess(int port, @Nullable Path dir) {
        this.port = port;
        this.dir = dir;
    }

    /** Starts a server without persistence on a free port and waits until it answers. */
    public static RedisProcess start() {
        var redis = new RedisProcess(FreePorts.freePort(), null);
        redis.restart();
        return redis;
    }

    /**
     * Starts a server whose working directory is {@code dir}: it saves nothing by itself, but {@code SAVE} writes
     * {@code dir/dump.rdb}, and every start loads the {@code dump.rdb} found there, so a test can restart it from a
     * snapshot of its choosing.
     */
    public static RedisProcess startIn(Path dir) {
        var redis = new RedisProcess(FreePorts.freePort(), dir);
        redis.restart();
        return redis;
    }

    public RedisURI uri() {
        return RedisURI.create("127.0.0.1", port);
    }

    /** This server as Spring Boot's connection details, for a test context that must use it instead of the shared one. */
    public DataRedisConnectionDetails connectionDetails() {
        return new LocalRedis("redis://127.0.0.1:" + port);
    }

    /**
     * Starts the server again on the same port, empty (or from {@code dump.rdb} when started {@link #startIn in a
     * directory}), and waits until it answers.
     */
    public synchronized void restart() {
        if (process != null && process.isAlive()) {
            return;
        }
        var command = new ArrayList<>(List.of(
                "redis-server",
                "--port",
                Integer.toString(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no"));
        if (dir != null) {
            command.addAll(List.of("--dir", dir.toString()));
        }
        try {
            process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(new File(System.getProperty("java.io.tmpdir"), "redis-" + port + ".log"))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot start redis-server: is it installed (apt-get install redis-server)?", e);
        }
        await().atMost(Duration.ofSeconds(10)).until(this::answers);
    }

    /** Kills the server, as a crash would; everything it held is lost. */
    public synchronized void stop() {
        if (process != null) {
            process.destroyForcibly();
            try {
                process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private boolean answers() {
        var client = RedisClient.create(uri());
        try (var connection = client.connect()) {
            return "PONG".equals(connection.sync().ping());
        } catch (RuntimeException e) {
            return false;
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    @Override
    public void close() {
        stop();
    }
}
