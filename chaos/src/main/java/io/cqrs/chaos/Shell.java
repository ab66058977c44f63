package io.cqrs.chaos;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Running the suite's helper commands, and the bookkeeping that lets run.sh clean up after a killed suite. */
final class Shell {

    private Shell() {}

    /** Runs a command to completion within {@code seconds}; returns its output, throws when it fails. */
    static String run(long seconds, List<String> command) {
        Path output = null;
        try {
            // Output to a file, not a pipe: a daemon the command forks (pg_ctl start) must not hold us up.
            output = Files.createTempFile("cqrs-chaos-cmd", ".out");
            Process process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile())
                    .start();
            if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("timed out: " + String.join(" ", command));
            }
            String text = Files.readString(output, StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new IllegalStateException(
                        "failed (" + process.exitValue() + "): " + String.join(" ", command) + "\n" + text);
            }
            return text.trim();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command.getFirst(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            if (output != null) {
                output.toFile().delete();
            }
        }
    }

    static String run(String... command) {
        return run(60, List.of(command));
    }

    /** The command as the PostgreSQL server must run it: as {@code postgres} when we are root (initdb refuses root). */
    static List<String> asPostgres(String... command) {
        var full = new ArrayList<String>();
        if (isRoot()) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(List.of(command));
        return full;
    }

    static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** Sends a signal ({@code STOP}, {@code CONT}, {@code KILL}) to a process this suite started. */
    static void signal(long pid, String signal) {
        run("kill", "-" + signal, Long.toString(pid));
    }

    /** Notes a process id in {@code <work>/pids}, so that run.sh can kill what a killed suite left behind. */
    static synchronized void remember(Path work, long pid) {
        try {
            Files.writeString(
                    work.resolve("pids"),
                    pid + "\n",
                    java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The last {@code lines} lines of a log, for the report when something went wrong. */
    static String tail(Path file, int lines) {
        try {
            if (!Files.exists(file)) {
                return "(no " + file + ")";
            }
            List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | RuntimeException e) {
            return "(cannot read " + file + ": " + e + ")";
        }
    }

    /** The tails of every log in the work directory, for a run that failed. */
    static void printLogs(Path work) {
        try (var files = Files.walk(work, 2)) {
            files.filter(p -> p.getFileName().toString().endsWith(".log"))
                    .sorted()
                    .forEach(log -> {
                        System.out.println("---- last lines of " + log);
                        System.out.println(tail(log, 40));
                    });
        } catch (IOException | RuntimeException e) {
            System.out.println("(cannot list the logs in " + work + ": " + e + ")");
        }
    }
}
