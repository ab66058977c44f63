package io.cqrs.db;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.db.TableStats.Upkeep;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class TableStatsTests {

    private final UpkeepProperties properties =
            new UpkeepProperties(UpkeepProperties.Mode.AUTO, Duration.ofSeconds(10), Duration.ofSeconds(60), 2000, 0.1);

    private static final Duration LONG_AGO = Duration.ofMinutes(5);

    @Test
    void vacuumsPastTheDeadRowsOfTheThreshold() {
        assertThat(new TableStats("t", 100_000, 12_001, 0, 0, LONG_AGO).due(properties))
                .isEqualTo(Upkeep.VACUUM);
        assertThat(new TableStats("t", 100_000, 12_000, 0, 0, LONG_AGO).due(properties))
                .isEqualTo(Upkeep.NONE);
    }

    @Test
    void vacuumsAnInsertOnlyTableAfterTwiceAsManyNewRows() {
        assertThat(new TableStats("t", 100_000, 0, 24_001, 0, LONG_AGO).due(properties))
                .isEqualTo(Upkeep.VACUUM);
        assertThat(new TableStats("t", 100_000, 0, 24_000, 0, LONG_AGO).due(properties))
                .isEqualTo(Upkeep.NONE);
    }

    @Test
    void analyzesATableThatChangedWithoutDeadRows() {
        assertThat(new TableStats("t", 100_000, 0, 0, 12_001, LONG_AGO).due(properties))
                .isEqualTo(Upkeep.ANALYZE);
        assertThat(new TableStats("t", 100_000, 0, 0, 12_001, null).due(properties))
                .isEqualTo(Upkeep.ANALYZE);
        assertThat(new TableStats("t", 100_000, 0, 0, 12_000, null).due(properties))
                .isEqualTo(Upkeep.NONE);
    }

    @Test
    void analyzesAtMostOncePerAnalyzeInterval() {
        assertThat(new TableStats("t", 100_000, 0, 0, 50_000, Duration.ofSeconds(59)).due(properties))
                .isEqualTo(Upkeep.NONE);
        assertThat(new TableStats("t", 100_000, 0, 0, 50_000, Duration.ofSeconds(60)).due(properties))
                .isEqualTo(Upkeep.ANALYZE);
    }

    @Test
    void vacuumsWithAnAnalysisOnlyWhenOneIsDue() {
        assertThat(new TableStats("t", 100_000, 12_001, 0, 12_001, LONG_AGO).due(properties))
                .isEqualTo(Upkeep.VACUUM_ANALYZE);
        assertThat(new TableStats("t", 100_000, 12_001, 0, 12_001, Duration.ofSeconds(10)).due(properties))
                .isEqualTo(Upkeep.VACUUM);
        assertThat(new TableStats("t", 100_000, 12_001, 0, 0, LONG_AGO).due(properties))
                .isEqualTo(Upkeep.VACUUM);
    }
}
