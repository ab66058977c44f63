package io.cqrs.testsupport;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import org.postgresql.PGConnection;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;

/**
 * A real outage of one database on a test server, over while it is open: no new connections are accepted, and every
 * open one (a service's pool included) is cut. {@link #close()} lets connections in again.
 *
 * <p>Done from the server's maintenance database {@code postgres}: PostgreSQL will not close the door of the database
 * one is standing in.
 */
public final class DatabaseOutage implements AutoCloseable {

    private final Connection admin;
    private final String database;

    private DatabaseOutage(Connection admin, String database) {
        this.admin = admin;
        this.database = database;
    }

    /** Takes {@code database}, on the server {@code server} points at, offline until {@link #close()}. */
    public static DatabaseOutage of(JdbcConnectionDetails server, String database) throws SQLException {
        var properties = new Properties();
        properties.setProperty("user", server.getUsername());
        if (server.getPassword() != null) {
            properties.setProperty("password", server.getPassword());
        }
        String maintenance = server.getJdbcUrl().replaceFirst("^(jdbc:postgresql://[^/]+/)[^?]*", "$1postgres");
        Connection admin = DriverManager.getConnection(maintenance, properties);
        var outage = new DatabaseOutage(admin, database);
        try {
            outage.allowConnections(false);
            try (var terminate = admin.prepareStatement(
                    "select pg_terminate_backend(pid) from pg_stat_activity where datname = ?")) {
                terminate.setString(1, database);
                terminate.execute();
            }
        } catch (SQLException | RuntimeException e) {
            try (admin) {
                outage.allowConnections(true);
            } catch (SQLException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
        return outage;
    }

    /** Lets connections in again. */
    @Override
    public void close() throws SQLException {
        try (admin) {
            allowConnections(true);
        }
    }

    private void allowConnections(boolean allow) throws SQLException {
        try (var statement = admin.createStatement()) {
            String quoted = admin.unwrap(PGConnection.class).escapeIdentifier(database);
            statement.execute("alter database " + quoted + " allow_connections " + allow);
        }
    }
}
