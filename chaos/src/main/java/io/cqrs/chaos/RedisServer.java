package io.cqrs.chaos;

import io.cqrs.testsupport.FreePorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A Redis of the suite's own on a free loopback port, persisting as in production: AOF on, {@code appendfsync
 * everysec}, no automatic RDB snapshots, in a data directory of its own. It can start empty (what a Redis without
 * persistence comes back as), start again on the files a killed one left, or start from an RDB snapshot taken earlier.
 */
final class RedisServer implements AutoCloseable {

    private final Path work;
    private final Path data;
    private final int port;
    private @Nullable Process process;
    private boolean paused;

    RedisServer(Path work) {
        this.work = work;
        this.data = work.resolve("redis-data");
        this.port = FreePorts.freePort();
    }

    String url() {
        return "redis://127.0.0.1:" + port;
    }

    private Path log() {
        return work.resolve("redis.log");
    }

    /** Starts an empty server: what an earlier one left on disk is deleted first. */
    synchronized void start() {
        wipe();
        launch(true);
    }

    /** Starts the server again on the files the killed one left: its data as far as its AOF reached the disk. */
    synchronized void restartOnFiles() {
        launch(true);
    }

    /** Takes an RDB snapshot ({@code SAVE}) and keeps a copy of it as {@code <work>/<name>.rdb}. */
    Path snapshot(String name) {
        cli("SAVE");
        try {
            return Files.copy(
                    data.resolve("dump.rdb"), work.resolve(name + ".rdb"), StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts from an RDB snapshot alone, as an operator restores a backup: the files the killed server left are
     * deleted, the snapshot loads with AOF off, then AOF is turned on again (Redis rewrites it from the loaded data).
     */
    synchronized void startFrom(Path snapshot) {
        wipe();
        try {
            Files.copy(snapshot, data.resolve("dump.rdb"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        launch(false);
        cli("CONFIG", "SET", "appendonly", "yes");
    }

    /** The size of the AOF file that takes the writes now. */
    long aofSize() {
        try {
            return Files.size(incrementalAof());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Cuts the AOF back to {@code size} bytes, on a killed server: what an OS crash does to the writes Redis made after
     * its last fsync ({@code everysec}: up to a second or two). A kill alone loses nothing Redis wrote, since the page
     * cache survives it. Returns the bytes dropped.
     */
    synchronized long truncateAof(long size) {
        try (var file = FileChannel.open(incrementalAof(), StandardOpenOption.WRITE)) {
            long dropped = file.size() - size;
            file.truncate(size);
            return dropped;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The manifest's last incremental file ({@code file <name> seq <n> type i}) is the one Redis appends to. */
    private Path incrementalAof() throws IOException {
        Path dir = data.resolve("appendonlydir");
        try (var manifests = Files.list(dir)) {
            Path manifest = manifests
                    .filter(file -> file.getFileName().toString().endsWith(".manifest"))
                    .findFirst()
                    .orElseThrow(() -> new IllegalStateException("no AOF manifest in " + dir));
            return Files.readAllLines(manifest).stream()
                    .map(line -> line.split(" "))
                    .filter(words -> words.length >= 6 && words[5].equals("i"))
                    .map(words -> dir.resolve(words[1]))
                    .reduce((first, second) -> second)
                    .orElseThrow(() -> new IllegalStateException("no incremental AOF in " + manifest));
        }
    }

    private void wipe() {
        try {
            if (Files.exists(data)) {
                try (var files = Files.walk(data)) {
                    for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                        Files.delete(file);
                    }
                }
            }
            Files.createDirectories(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void launch(boolean appendOnly) {
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
                            appendOnly ? "yes" : "no",
                            "--appendfsync",
                            "everysec",
                            "--dir",
                            data.toString()))
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

    /** Kills the server as a crash would ({@code kill -9}); what it had written to its files stays there. */
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
