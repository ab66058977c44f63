package io.cqrs.write;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cqrs.testsupport.RealServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.jdbc.test.autoconfigure.AutoConfigureTestDatabase;
import org.springframework.boot.jdbc.test.autoconfigure.JdbcTest;
import org.springframework.context.annotation.Import;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.jdbc.core.simple.JdbcClient;

/** The write schema applies on an empty database and its constraints hold the write path's invariants. */
@JdbcTest
@AutoConfigureTestDatabase(replace = AutoConfigureTestDatabase.Replace.NONE)
@Import(RealServers.class)
class WriteSchemaIT {

    @Autowired
    JdbcClient jdbc;

    @Test
    void keepsOneCommandPerKeyAndVersion() {
        insertCommand("k", 1, "write", "a");

        assertThatThrownBy(() -> insertCommand("k", 1, "write", "b"))
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("commands_key_version_unique");
    }

    @Test
    void checksNoForeignKeyPerOutboxRow() {
        // Every outbox row is made from its command's row (V8 says why): a foreign key would only cost each write a
        // query, a lock and a WAL record of its own.
        assertThat(jdbc.sql("select count(*) from pg_constraint where conrelid = 'outbox'::regclass and contype = 'f'")
                        .query(Long.class)
                        .single())
                .isZero();
    }

    @ParameterizedTest
    @CsvSource(
            value = {"write, NULL", "delete, x"},
            nullValues = "NULL")
    void carriesAValueOnWritesOnly(String op, String value) {
        assertThatThrownBy(() -> insertCommand("k", 1, op, value)).hasMessageContaining("commands_value_only_on_write");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 256})
    void rejectsKeysOutsideOneTo255Characters(int length) {
        assertThatThrownBy(() -> insertCommand("k".repeat(length), 1, "write", "v"))
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("commands_key_check");
    }

    @Test
    void countsKeyLengthInCharactersNotBytes() {
        assertThat(insertCommand("ü".repeat(255), 1, "write", "v")).isPositive();
    }

    @Test
    void neverCountsMoreWritesThanVersions() {
        assertThatThrownBy(() -> jdbc.sql(
                                "insert into key_state (key, version, write_count, updated_at) values ('k', 1, 2, now())")
                        .update())
                .isInstanceOf(DataIntegrityViolationException.class);
    }

    @Test
    void indexesTheUnpublishedBacklogAndThePublishedRetentionSeparately() {
        var definitions = jdbc.sql("select indexdef from pg_indexes where tablename = 'outbox'")
                .query(String.class)
                .list();

        assertThat(definitions)
                .anySatisfy(d -> assertThat(d).contains("(next_attempt_at)").contains("WHERE (published_at IS NULL)"))
                .anySatisfy(d -> assertThat(d).contains("(published_at)").contains("WHERE (published_at IS NOT NULL)"));
    }

    private long insertCommand(String key, long version, String op, String value) {
        return jdbc.sql("""
                        insert into commands (key, version, op, value, write_count)
                        values (?, ?, ?, ?, ?) returning id
                        """)
                .params(key, version, op, value, "write".equals(op) ? 1 : 0)
                .query(Long.class)
                .single();
    }
}
