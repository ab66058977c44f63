package io.cqrs.system;

import io.cqrs.events.EventStreams;
import io.cqrs.testsupport.ServiceProcess;
import io.cqrs.testsupport.TestDatabase;
import io.cqrs.testsupport.TestRedis;
import io.lettuce.core.RedisClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The three services running at once as processes, as {@code ./stack.sh up} runs them: two fresh databases on the
 * test PostgreSQL, a stream name of their own on the test Redis, free ports. {@link #close()} stops every process and
 * drops everything, also after a failed start.
 */
final class Stack implements AutoCloseable {

    private final List<AutoCloseable> resources = new ArrayList<>();
    private final String redisUrl = TestRedis.url();
    private final String stream = "cqrs:test:"
            + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()) + ":events";
    private final Map<String, String> everyService;
    private final TestDatabase writeDb;
    private final TestDatabase readDb;
    final ServiceProcess write;
    final ServiceProcess projector;
    final ServiceProcess read;

    /** Settings given to each service beside the connections; small pools, we share PostgreSQL's 100 connections. */
    Stack(Map<String, String> projectorSettings, Map<String, String> readSettings) {
        this(Map.of(), projectorSettings, readSettings);
    }

    /** The same, with {@code everyService}'s settings given to all three services as well. */
    Stack(Map<String, String> everyService, Map<String, String> projectorSettings, Map<String, String> readSettings) {
        this.everyService = Map.copyOf(everyService);
        resources.add(this::deleteStreams);
        try {
            writeDb = remember(TestDatabase.create());
            readDb = remember(TestDatabase.create());
            // The write service reads the read database too: its reconciliation compares records with key_state.
            write = service(
                    "write-service",
                    readDatabase(Map.of(
                            "WRITE_DB_URL", writeDb.jdbcUrl(),
                            "WRITE_DB_USER", writeDb.username(),
                            "WRITE_DB_PASSWORD", writeDb.password())));
            // The projector reads the write database only for a rebuild of the read model.
            var projectorEnvironment = new HashMap<>(projectorSettings);
            projectorEnvironment.put("CQRS_REBUILD_WRITE_DB_URL", writeDb.jdbcUrl());
            projectorEnvironment.put("CQRS_REBUILD_WRITE_DB_USER", writeDb.username());
            projectorEnvironment.put("CQRS_REBUILD_WRITE_DB_PASSWORD", writeDb.password());
            projector = service("projector-service", readDatabase(projectorEnvironment));
            read = service("read-service", readDatabase(readSettings));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Write and projector side by side (each migrates its own database), then the read service on the read schema. */
    Stack start() {
        try {
            write.start();
            projector.start();
            CompletableFuture.allOf(
                            CompletableFuture.runAsync(write::awaitReady),
                            CompletableFuture.runAsync(projector::awaitReady))
                    .join();
            read.start().awaitReady();
            return this;
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    String stream() {
        return stream;
    }

    Connection writeDatabase() throws SQLException {
        return DriverManager.getConnection(writeDb.jdbcUrl(), writeDb.username(), writeDb.password());
    }

    Connection readDatabase() throws SQLException {
        return DriverManager.getConnection(readDb.jdbcUrl(), readDb.username(), readDb.password());
    }

    String logTails(int lines) {
        return write.logTail(lines) + projector.logTail(lines) + read.logTail(lines);
    }

    @Override
    public void close() {
        RuntimeException failure = null;
        for (AutoCloseable resource : resources.reversed()) {
            try {
                resource.close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = new IllegalStateException("Cleaning up the stack failed", e);
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        resources.clear();
        if (failure != null) {
            throw failure;
        }
    }

    private Map<String, String> readDatabase(Map<String, String> settings) {
        var environment = new HashMap<>(settings);
        environment.put("READ_DB_URL", readDb.jdbcUrl());
        // One login for everything here (the test server's administrator); StackScriptIT checks the services' own.
        for (String login : List.of("PROJECTOR_DB", "READ_DB", "CQRS_RECONCILE_READ_DB")) {
            environment.put(login + "_USER", readDb.username());
            environment.put(login + "_PASSWORD", readDb.password());
        }
        return environment;
    }

    private ServiceProcess service(String name, Map<String, String> settings) {
        var environment = new HashMap<>(everyService);
        environment.putAll(settings);
        environment.put("REDIS_URL", redisUrl);
        environment.put("EVENT_STREAM_NAME", stream);
        environment.put("DB_POOL_MIN_SIZE", "1");
        environment.put("DB_POOL_MAX_SIZE", "4");
        var service = new ServiceProcess(
                name, jar(name), Path.of(required("cqrs.system-tests.logs")), environment, List.of());
        // Services close before the databases they use are dropped (resources close in reverse order).
        resources.add(service::stop);
        return service;
    }

    private static Path jar(String service) {
        String property = "cqrs.jar." + service;
        Path jar = Path.of(required(property));
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("No jar at " + jar + " (" + property + "): build the reactor first, e.g."
                    + " ./mvnw -B verify -pl system-tests -am");
        }
        return jar;
    }

    private static String required(String property) {
        String value = System.getProperty(property);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("System property " + property + " is not set: run these tests through"
                    + " Maven (./mvnw -B verify -pl system-tests -am), which sets it in system-tests/pom.xml");
        }
        return value;
    }

    private TestDatabase remember(TestDatabase database) {
        resources.add(database);
        return database;
    }

    /** The stream and every key the services keep beside it: dead letters, epoch, reconciliation, control. */
    static String[] allKeysOf(String stream) {
        return new String[] {
            stream,
            EventStreams.deadLetterStream(stream),
            EventStreams.epochKey(stream),
            EventStreams.reconciliationKey(stream),
            EventStreams.controlKey(stream)
        };
    }

    private void deleteStreams() {
        var client = RedisClient.create(redisUrl);
        try (var connection = client.connect()) {
            connection.sync().del(allKeysOf(stream));
        } finally {
            client.shutdown();
        }
    }
}
