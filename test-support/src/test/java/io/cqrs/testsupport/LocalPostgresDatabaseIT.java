package io.cqrs.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** Runs against the local server only: the container path is Testcontainers' own, tested by its authors. */
class LocalPostgresDatabaseIT {

    @Test
    void createsADatabaseOfItsOwnAndDropsItOnClose() throws SQLException {
        var database = LocalPostgresDatabase.create(TestServers.postgresUrl());
        try {
            assertThat(database.getJdbcUrl()).contains("/" + database.name());
            assertThat(currentDatabase(database)).isEqualTo(database.name());
        } finally {
            database.destroy();
        }
        assertThat(exists(database.name())).isFalse();
    }

    @Test
    void givesEveryContextAnotherDatabase() throws SQLException {
        var first = LocalPostgresDatabase.create(TestServers.postgresUrl());
        var second = LocalPostgresDatabase.create(TestServers.postgresUrl());
        try {
            assertThat(first.name()).isNotEqualTo(second.name());
        } finally {
            first.destroy();
            second.destroy();
        }
    }

    private static String currentDatabase(LocalPostgresDatabase database) throws SQLException {
        var properties = new Properties();
        properties.setProperty("user", database.getUsername());
        try (var connection = DriverManager.getConnection(database.getJdbcUrl(), properties);
                var result = connection.createStatement().executeQuery("select current_database()")) {
            result.next();
            return result.getString(1);
        }
    }

    private static boolean exists(String name) throws SQLException {
        try (var connection = DriverManager.getConnection(TestServers.postgresUrl());
                var statement = connection.prepareStatement("select count(*) from pg_database where datname = ?")) {
            statement.setString(1, name);
            try (var result = statement.executeQuery()) {
                result.next();
                return result.getInt(1) == 1;
            }
        }
    }
}
