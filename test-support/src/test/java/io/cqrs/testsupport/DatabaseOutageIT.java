package io.cqrs.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;

class DatabaseOutageIT {

    @Test
    void cutsOpenConnectionsRefusesNewOnesAndLetsThemInAgainOnClose() throws SQLException {
        try (var database = TestDatabase.create();
                var before = connect(database)) {
            try (var outage = DatabaseOutage.of(server(database), database.name())) {
                assertThatThrownBy(() -> before.createStatement().execute("select 1"))
                        .isInstanceOf(SQLException.class);
                assertThatThrownBy(() -> connect(database))
                        .isInstanceOf(SQLException.class)
                        .hasMessageContaining("not currently accepting connections");
            }
            try (var after = connect(database);
                    var result = after.createStatement().executeQuery("select current_database()")) {
                result.next();
                assertThat(result.getString(1)).isEqualTo(database.name());
            }
        }
    }

    @Test
    void quotesTheDatabaseNameItIsGiven() throws SQLException {
        String name = "Outage \"quoted\" " + System.nanoTime();
        try (var admin = DriverManager.getConnection(TestServers.postgresUrl());
                var statement = admin.createStatement()) {
            String quoted = admin.unwrap(PGConnection.class).escapeIdentifier(name);
            statement.execute("create database " + quoted);
            try {
                try (var outage = DatabaseOutage.of(server(admin), name)) {
                    assertThat(allowsConnections(admin, name)).isFalse();
                }
                assertThat(allowsConnections(admin, name)).isTrue();
            } finally {
                statement.execute("drop database " + quoted);
            }
        }
    }

    private static boolean allowsConnections(Connection admin, String name) throws SQLException {
        try (var query = admin.prepareStatement("select datallowconn from pg_database where datname = ?")) {
            query.setString(1, name);
            try (var result = query.executeQuery()) {
                assertThat(result.next()).as("database %s exists", name).isTrue();
                return result.getBoolean(1);
            }
        }
    }

    private static Connection connect(TestDatabase database) throws SQLException {
        return DriverManager.getConnection(database.jdbcUrl(), database.username(), database.password());
    }

    private static JdbcConnectionDetails server(TestDatabase database) {
        return server(database.jdbcUrl(), database.username(), database.password());
    }

    private static JdbcConnectionDetails server(Connection admin) throws SQLException {
        return server(TestServers.postgresUrl(), admin.getMetaData().getUserName(), "");
    }

    private static JdbcConnectionDetails server(String url, String username, String password) {
        return new JdbcConnectionDetails() {
            @Override
            public String getJdbcUrl() {
                return url;
            }

            @Override
            public String getUsername() {
                return username;
            }

            @Override
            public String getPassword() {
                return password;
            }
        };
    }
}
