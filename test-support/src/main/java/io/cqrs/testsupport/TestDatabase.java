package io.cqrs.testsupport;

import java.sql.SQLException;
import org.jspecify.annotations.Nullable;
import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * A throwaway PostgreSQL database for tests that run services outside their own JVM (as processes), so they cannot
 * use {@link RealServers}: created on the same server {@link RealServers} would use, dropped on {@link #close()}.
 *
 * <p>With {@code CQRS_TEST_POSTGRES_URL} set or no Docker engine: a fresh database on that (or the local) server.
 * With a Docker engine: a fresh database in one pinned PostgreSQL container shared by the whole test JVM (stopped
 * by Testcontainers when the JVM exits). Either way the database is reachable from this host.
 */
public final class TestDatabase implements AutoCloseable {

    private static @Nullable PostgreSQLContainer container;

    private final LocalPostgresDatabase database;

    private TestDatabase(LocalPostgresDatabase database) {
        this.database = database;
    }

    /** Creates an empty database of its own; abandoned ones from killed runs are dropped on the way. */
    public static TestDatabase create() {
        return new TestDatabase(LocalPostgresDatabase.create(adminUrl()));
    }

    /** The database's JDBC URL, as a service's {@code *_DB_URL} takes it (query parameters of the admin URL kept). */
    public String jdbcUrl() {
        return database.getJdbcUrl();
    }

    public String username() {
        return database.getUsername();
    }

    /** The password, empty when the server needs none (as a service's {@code *_DB_PASSWORD} takes it). */
    public String password() {
        String password = database.getPassword();
        return password == null ? "" : password;
    }

    public String name() {
        return database.name();
    }

    /** Drops the database, closing whatever connections are still open on it. */
    @Override
    public void close() {
        try {
            database.destroy();
        } catch (SQLException e) {
            throw new IllegalStateException("Cannot drop test database " + name(), e);
        }
    }

    private static synchronized String adminUrl() {
        if (!TestServers.useContainers()) {
            return TestServers.postgresUrl();
        }
        PostgreSQLContainer started = container;
        if (started == null) {
            started = new PostgreSQLContainer(DockerImageName.parse(RealServers.POSTGRES_IMAGE));
            started.start();
            container = started;
        }
        return "jdbc:postgresql://" + started.getHost() + ":" + started.getMappedPort(5432) + "/postgres?user="
                + started.getUsername() + "&password=" + started.getPassword();
    }
}
