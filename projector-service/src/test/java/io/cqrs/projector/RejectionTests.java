package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.DataIntegrityViolationException;

class RejectionTests {

    @ParameterizedTest
    @CsvSource({
        "22021, true", // invalid byte sequence (a NUL in a text value)
        "23514, true", // check constraint
        "54000, true", // program limit (an index row too large)
        "08006, false", // connection failure
        "57P01, false", // administrator shutdown
        "40P01, false", // deadlock: retry, the data is fine
        "42703, false" // undefined column: our bug, which must stall visibly rather than empty the stream
    })
    void treatsOnlyDataErrorsAsTheEntrysFault(String sqlState, boolean dataError) {
        var failure = new DataIntegrityViolationException("batch", new SQLException("message", sqlState));

        assertThat(RecordProjection.rejectsData(failure)).isEqualTo(dataError);
    }

    @Test
    void treatsAFailureWithoutSqlStateAsAnOutage() {
        assertThat(RecordProjection.rejectsData(new DataAccessResourceFailureException("no connection")))
                .isFalse();
    }

    @Test
    void keepsTheFirstLineOfTheDatabaseMessageAsReason() {
        var failure = new DataIntegrityViolationException(
                "batch",
                new SQLException(
                        "ERROR: invalid byte sequence for encoding \"UTF8\": 0x00\n  Where: unnamed portal parameter $2",
                        "22021"));

        var rejection = Rejection.applyFailed(failure);

        assertThat(rejection.problem()).isEqualTo(Rejection.APPLY_FAILED);
        assertThat(rejection.reason()).endsWith("0x00").doesNotContain("\n");
    }
}
