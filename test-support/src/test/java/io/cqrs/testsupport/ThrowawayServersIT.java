package io.cqrs.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.DriverManager;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

/** {@link TestDatabase} and {@link TestRedis} on the local servers (the container path needs a Docker engine). */
class ThrowawayServersIT {

    @Test
    void givesAConnectableDatabaseOfItsOwnAndDropsItOnClose() throws SQLException {
        String name;
        try (var database = TestDatabase.create();
                var other = TestDatabase.create()) {
            name = database.name();
            assertThat(other.name()).isNotEqualTo(name);
            try (var connection =
                            DriverManager.getConnection(database.jdbcUrl(), database.username(), database.password());
                    var result = connection.createStatement().executeQuery("select current_database()")) {
                result.next();
                assertThat(result.getString(1)).isEqualTo(name);
            }
        }
        try (var connection = DriverManager.getConnection(TestServers.postgresUrl());
                var statement = connection.prepareStatement("select count(*) from pg_database where datname = ?")) {
            statement.setString(1, name);
            try (var result = statement.executeQuery()) {
                result.next();
                assertThat(result.getLong(1)).isZero();
            }
        }
    }

    @Test
    void namesARedisUrl() {
        assertThat(TestRedis.url()).startsWith("redis://");
    }
}
