package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cqrs.testsupport.RealServers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.jdbc.test.autoconfigure.AutoConfigureTestDatabase;
import org.springframework.boot.jdbc.test.autoconfigure.JdbcTest;
import org.springframework.context.annotation.Import;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.jdbc.core.simple.JdbcClient;

/** The read schema applies on an empty database, seeded with the counters /stats reads in O(1). */
@JdbcTest
@AutoConfigureTestDatabase(replace = AutoConfigureTestDatabase.Replace.NONE)
@Import(RealServers.class)
class ReadSchemaIT {

    @Autowired
    JdbcClient jdbc;

    @Test
    void seedsTheProjectionCountersAtZero() {
        var state = jdbc.sql("select events_applied + events_stale + events_dead_lettered + records + total_writes"
                        + " from projection_state where projection = 'records'")
                .query(Long.class)
                .single();

        assertThat(state).isZero();
        assertThat(jdbc.sql("select total_reads from read_totals")
                        .query(Long.class)
                        .single())
                .isZero();
    }

    @Test
    void keepsASingleReadTotalsRow() {
        assertThatThrownBy(() ->
                        jdbc.sql("insert into read_totals (id) values (false)").update())
                .isInstanceOf(DataIntegrityViolationException.class);
    }

    @Test
    void keepsTombstonesWithoutAValueAndLiveRowsWithOne() {
        insertRecord("live", "v", false);
        insertRecord("gone", null, true);

        assertThat(jdbc.sql("select count(*) from records").query(Long.class).single())
                .isEqualTo(2);
    }

    @ParameterizedTest
    @CsvSource(
            value = {"v, true", "NULL, false"},
            nullValues = "NULL")
    void rejectsATombstoneWithAValueOrALiveRowWithout(String value, boolean deleted) {
        assertThatThrownBy(() -> insertRecord("k", value, deleted))
                .hasMessageContaining("records_tombstone_has_no_value");
    }

    @Test
    void startsReadCountsAtZero() {
        insertRecord("k", "v", false);

        assertThat(jdbc.sql("select read_count from records where key = 'k'")
                        .query(Long.class)
                        .single())
                .isZero();
    }

    private void insertRecord(String key, String value, boolean deleted) {
        jdbc.sql("""
                        insert into records (key, value, version, write_count, deleted, created_at, updated_at,
                                             last_command_id)
                        values (?, ?, 1, 1, ?, now(), now(), 1)
                        """).params(key, value, deleted).update();
    }
}
