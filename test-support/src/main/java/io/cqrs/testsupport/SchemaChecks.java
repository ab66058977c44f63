package io.cqrs.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;

/** The check every service's context test makes of the database it started on. */
public final class SchemaChecks {

    private SchemaChecks() {}

    /** Flyway ran every migration successfully and the tables the service works with exist. */
    public static void assertMigrated(DataSource database, String... tables) {
        var jdbc = JdbcClient.create(database);
        assertThat(jdbc.sql("select table_name from information_schema.tables where table_schema = current_schema()")
                        .query(String.class)
                        .list())
                .contains(tables);
        assertThat(jdbc.sql("select bool_and(success) from flyway_schema_history")
                        .query(Boolean.class)
                        .single())
                .isTrue();
    }
}
