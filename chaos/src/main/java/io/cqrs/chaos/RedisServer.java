package io.cqrs.chaos;

import io.cqrs.testsupport.FreePorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** A Redis of the suite's own, without persistence, on a free loopback port: killing it loses everything it held. */
final class RedisServer implements AutoCloseable {

    private final Path work;
    private final int port;
    private @Nullable Process process;
    private boolean paused;

    RedisServer(Path work) {
        this.work = work;
        this.port = FreePorts.freePort();
    }

    String url() {
        return "redis://127.0.0.1:" + port;
    }

    private Path log() {
        return work.resolve("redis.log");
    }

    synchronized void start() {
        try {
            process = new ProcessBuilder(List.of(
                            "redis-server",
                            "--port",
                            Integer.toString(port),
                            "--bind",
                            "127.0.0.1",
                            "--save",
                            "",
                            "--appendonly",
                            "no",
                            "--dir",
                            work.toString()))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile()))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start redis-server", e);
        }
        Shell.remember(work, process.pid());
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!answers()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("redis-server did not answer on port " + port);
            }
            Shell.sleep(100);
        }
    }

    /** Kills the server as a crash would; with no persistence, its data is gone. */
    synchronized void kill() {
        var current = process;
        if (current != null) {
            if (paused) {
                resume();
            }
            current.destroyForcibly();
            try {
                current.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            process = null;
        }
    }

    /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
    synchronized void pause() {
        Shell.signal(pid(), "STOP");
        paused = true;
    }

    synchronized void resume() {
        Shell.signal(pid(), "CONT");
        paused = false;
    }

    /** Runs one command through redis-cli and returns its raw answer. */
    String cli(String... arguments) {
        var command = new ArrayList<>(List.of("redis-cli", "-h", "127.0.0.1", "-p", Integer.toString(port)));
        command.addAll(List.of(arguments));
        return Shell.run(10, command);
    }

    long length(String stream) {
        return Long.parseLong(cli("XLEN", stream).trim());
    }

    /** Entries of a consumer group pending for one of its consumers. */
    long pending(String stream, String group, String consumer) {
        // XPENDING summary: count, smallest id, greatest id, then one (consumer, count) pair per consumer.
        String[] words = cli("XPENDING", stream, group).split("\\s+");
        for (int i = 0; i + 1 < words.length; i++) {
            if (words[i].equals(consumer)) {
                return Long.parseLong(words[i + 1]);
            }
        }
        return 0;
    }

    /** The ids of a group's pending entries (up to 10,000), of one consumer or, with {@code consumer} null, of all. */
    List<String> pendingIds(String stream, String group, @Nullable String consumer) {
        var command = new ArrayList<>(List.of("XPENDING", stream, group, "-", "+", "10000"));
        if (consumer != null) {
            command.add(consumer);
        }
        // Extended XPENDING: per entry its id, consumer, idle time and delivery count, each on a line of its own.
        var ids = new ArrayList<String>();
        for (String line : cli(command.toArray(String[]::new)).split("\n")) {
            if (line.trim().matches("\\d+-\\d+")) {
                ids.add(line.trim());
            }
        }
        return ids;
    }

    /** Entries of the stream not yet delivered to the group, counted up to 100. */
    long unread(String stream, String group) {
        // XINFO GROUPS: per group, name, consumers, pending, last-delivered-id... each a key and its value on a line.
        // Not its lag, which Redis cannot always tell (after deletions).
        String[] lines = cli("XINFO", "GROUPS", stream).split("\n");
        @Nullable String lastDelivered = null;
        boolean ours = false;
        for (int i = 0; i + 1 < lines.length && lastDelivered == null; i++) {
            String key = lines[i].trim();
            if (key.equals("name")) {
                ours = lines[i + 1].trim().equals(group);
            } else if (ours && key.equals("last-delivered-id")) {
                lastDelivered = lines[i + 1].trim();
            }
        }
        if (lastDelivered == null) {
            throw new IllegalStateException("no group " + group + " on stream " + stream);
        }
        // XRANGE: per entry its id, then its fields and values, each on a line; only ids look like <ms>-<seq>.
        return cli("XRANGE", stream, "(" + lastDelivered, "+", "COUNT", "100")
                .lines()
                .filter(line -> line.trim().matches("\\d+-\\d+"))
                .count();
    }

    /** The names of a group's consumers. */
    List<String> consumers(String stream, String group) {
        // XINFO CONSUMERS: per consumer, name, pending, idle and inactive, each a key and its value on a line.
        String[] lines = cli("XINFO", "CONSUMERS", stream, group).split("\n");
        var names = new ArrayList<String>();
        for (int i = 0; i + 1 < lines.length; i++) {
            if (lines[i].trim().equals("name")) {
                names.add(lines[i + 1].trim());
            }
        }
        return names;
    }

    private boolean answers() {
        try {
            return "PONG".equals(cli("PING"));
        } catch (RuntimeException e) {
            return false;
        }
    }

    private long pid() {
        var current = process;
        if (current == null) {
            throw new IllegalStateException("redis-server is not running");
        }
        return current.pid();
    }

    @Override
    public void close() {
        kill();
    }
}
