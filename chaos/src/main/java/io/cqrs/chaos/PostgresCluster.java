package io.cqrs.chaos;

import io.cqrs.testsupport.FreePorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.List;

/**
 * A PostgreSQL 15 cluster of the suite's own ({@code initdb} + {@code pg_ctl}) on a free loopback port, so that
 * stopping and restarting it disturbs nobody else. Run as the {@code postgres} OS user when the suite runs as root.
 */
final class PostgresCluster implements AutoCloseable {

    private final Path bin;
    private final Path dir;
    private final Path data;
    private final Path log;
    private final int port;

    private PostgresCluster(Path bin, Path dir, int port) {
        this.bin = bin;
        this.dir = dir;
        this.data = dir.resolve("data");
        this.log = dir.resolve("postgres.log");
        this.port = port;
    }

    /** A cluster to be under {@code work/name}, on a free port: its directory made, owned by the server's user. */
    private static PostgresCluster at(Path work, Path bin, String name) {
        Path dir = work.resolve(name);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (Shell.isRoot()) {
            Shell.run("chown", "postgres:postgres", dir.toString());
        }
        return new PostgresCluster(bin, dir, FreePorts.freePort());
    }

    /** Creates the cluster under {@code work/name}, starts it and creates {@code database} in it. */
    static PostgresCluster create(Path work, Path bin, String name, String database) {
        var cluster = at(work, bin, name);
        Shell.run(
                120,
                Shell.asPostgres(
                        bin.resolve("initdb").toString(),
                        "-D",
                        cluster.data.toString(),
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "-E",
                        "UTF8",
                        "--no-sync"));
        cluster.start();
        try (Connection connection = cluster.connect("postgres")) {
            connection.createStatement().execute("create database " + database);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create database " + database + " in " + name, e);
        }
        return cluster;
    }

    /**
     * A streaming standby of {@code primary} under {@code work/name}: {@code pg_basebackup} with {@code -R} (it follows
     * the primary from then on, by physical replication), started on a free port of its own.
     */
    static PostgresCluster standbyOf(Path work, Path bin, String name, PostgresCluster primary) {
        var standby = at(work, bin, name);
        primary.client("pg_basebackup", "-D", standby.data.toString(), "-R", "-X", "stream", "--no-sync");
        standby.start();
        return standby;
    }

    /** Pauses or resumes this standby's replay of the primary's changes ({@code pg_wal_replay_pause()}). */
    void replay(boolean on) {
        try (Connection connection = connect("postgres")) {
            connection.createStatement().execute(on ? "select pg_wal_replay_resume()" : "select pg_wal_replay_pause()");
        } catch (SQLException e) {
            throw new IllegalStateException("cannot " + (on ? "resume" : "pause") + " replay", e);
        }
    }

    String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database) + "?connectTimeout=5&socketTimeout=30", "postgres", "");
    }

    void start() {
        Shell.run(60, Shell.asPostgres(pgCtl("start", "-l", log.toString(), "-o", options())));
    }

    /** A fast shutdown: sessions are disconnected, nothing is lost (as a DBA's restart or a fail-over would do). */
    void stop() {
        Shell.run(60, Shell.asPostgres(pgCtl("stop", "-m", "fast")));
    }

    void restart() {
        Shell.run(60, Shell.asPostgres(pgCtl("restart", "-m", "fast", "-l", log.toString(), "-o", options())));
    }

    /**
     * Dumps {@code database} (custom format) into the cluster's directory, as a nightly backup would; returns the file.
     */
    Path dump(String database) {
        Path file = dir.resolve(database + ".dump");
        client("pg_dump", "-Fc", "-f", file.toString(), database);
        return file;
    }

    /** Restores {@code database} from {@code file}: its tables dropped and recreated as they were in the dump. */
    void restore(String database, Path file) {
        client("pg_restore", "--clean", "--if-exists", "--single-transaction", "-d", database, file.toString());
    }

    /** Runs one of PostgreSQL's client programs against this cluster, as the postgres user. */
    private void client(String program, String... arguments) {
        var command = new java.util.ArrayList<>(List.of(
                bin.resolve(program).toString(), "-h", "127.0.0.1", "-p", Integer.toString(port), "-U", "postgres"));
        command.addAll(List.of(arguments));
        Shell.run(120, Shell.asPostgres(command.toArray(String[]::new)));
    }

    private String[] pgCtl(String action, String... arguments) {
        var command = new java.util.ArrayList<>(
                List.of(bin.resolve("pg_ctl").toString(), action, "-D", data.toString(), "-w", "-t", "30"));
        command.addAll(List.of(arguments));
        return command.toArray(String[]::new);
    }

    private String options() {
        // Durability settings off: this cluster lives for one run, and a crash of the machine is not a fault we test.
        return "-p " + port + " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" + dir
                + " -c max_connections=60 -c fsync=off -c full_page_writes=off -c shared_buffers=64MB";
    }

    /** Stops the cluster at once, whatever state it is in; for the final clean-up. */
    @Override
    public void close() {
        try {
            Shell.run(60, Shell.asPostgres(pgCtl("stop", "-m", "immediate")));
        } catch (RuntimeException e) {
            // Already stopped, or never started.
        }
    }
}
