package io.cqrs.chaos;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How a suite runs as a program: its work directory, the checkout holding the jars and PostgreSQL's binaries from the
 * environment chaos/run.sh sets ({@code CQRS_CHAOS_DIR}, {@code CQRS_CHAOS_ROOT}, {@code CQRS_CHAOS_PG_BIN}),
 * everything it started closed at the end (also on SIGTERM or Ctrl-C), the services' logs printed when it failed, and
 * its exit status: 0 passed, 1 failed, 2 could not set up.
 */
final class SuiteRun {

    @FunctionalInterface
    interface Suite {
        /** Runs the suite; returns 0 when everything passed, 1 otherwise. */
        int run(Path work, Path root, Path pgBin, Resources resources, long started) throws IOException;
    }

    private SuiteRun() {}

    static void main(String name, Suite suite) {
        long started = System.nanoTime();
        Path work = Path.of(System.getenv()
                .getOrDefault(
                        "CQRS_CHAOS_DIR",
                        System.getProperty("java.io.tmpdir") + "/cqrs-" + name + "-"
                                + ProcessHandle.current().pid()));
        Path root = Path.of(System.getenv().getOrDefault("CQRS_CHAOS_ROOT", "."));
        Path pgBin = Path.of(System.getenv().getOrDefault("CQRS_CHAOS_PG_BIN", "/usr/lib/postgresql/15/bin"));
        int status;
        var resources = new Resources();
        // Also on SIGTERM/SIGINT (run.sh's time limit, Ctrl-C): nothing the suite started outlives it.
        Runtime.getRuntime().addShutdownHook(new Thread(resources::close));
        try {
            Files.createDirectories(work);
            // PostgreSQL runs as its own user when we are root: it must be able to reach its directories.
            Shell.run("chmod", "755", work.toString());
            status = suite.run(work, root, pgBin, resources, started);
            if (status != 0) {
                Shell.printLogs(work);
            }
        } catch (IOException | RuntimeException e) {
            System.out.println(name + " suite could not run: " + e);
            e.printStackTrace(System.out);
            Shell.printLogs(work);
            status = 2;
        } finally {
            resources.close();
        }
        System.exit(status);
    }
}
