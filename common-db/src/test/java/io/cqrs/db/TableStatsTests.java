package io.cqrs.db;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.db.TableStats.Upkeep;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TableStatsTests {

    // Threshold of a 100,000-row table: 2,000 + 0.1 × 100,000 = 12,000 rows; an analysis at most once a minute.
    private final UpkeepProperties properties =
            new UpkeepProperties(UpkeepProperties.Mode.AUTO, Duration.ofSeconds(10), Duration.ofSeconds(60), 2000, 0.1);

    @ParameterizedTest(name = "{0}: dead {1}, inserted {2}, changed {3}, analyzed {4} s ago -> {5}")
    @CsvSource(nullValues = "never", textBlock = """
            dead rows past the threshold,                12001,     0,     0,   300, VACUUM
            dead rows at the threshold,                  12000,     0,     0,   300, NONE
            an insert-only table with twice as many new,     0, 24001,     0,   300, VACUUM
            an insert-only table not yet there,              0, 24000,     0,   300, NONE
            changed rows past the threshold,                 0,     0, 12001,   300, ANALYZE
            changed rows never analyzed,                     0,     0, 12001, never, ANALYZE
            changed rows at the threshold,                   0,     0, 12000, never, NONE
            analyzed within the interval,                    0,     0, 50000,    59, NONE
            analyzed an interval ago,                        0,     0, 50000,    60, ANALYZE
            a vacuum with a due analysis,                12001,     0, 12001,   300, VACUUM_ANALYZE
            a vacuum soon after an analysis,             12001,     0, 12001,    10, VACUUM
            a vacuum with nothing changed,               12001,     0,     0,   300, VACUUM
            """)
    void decidesWhatATableNeeds(
            String situation, long dead, long inserted, long changed, Long analyzedSecondsAgo, Upkeep expected) {
        var sinceAnalyze = analyzedSecondsAgo == null ? null : Duration.ofSeconds(analyzedSecondsAgo);

        var table = new TableStats("t", 100_000, dead, inserted, changed, sinceAnalyze);

        assertThat(table.due(properties)).as(situation).isEqualTo(expected);
    }
}
