package io.cqrs.db;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.db.TableStats.Upkeep;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class TableStatsTests {

    private final UpkeepProperties properties =
            new UpkeepProperties(UpkeepProperties.Mode.AUTO, Duration.ofSeconds(10), 2000, 0.1);

    @Test
    void vacuumsPastTheDeadRowsOfTheThreshold() {
        assertThat(new TableStats("t", 100_000, 12_001, 0, 0).due(properties)).isEqualTo(Upkeep.VACUUM);
        assertThat(new TableStats("t", 100_000, 12_000, 0, 0).due(properties)).isEqualTo(Upkeep.NONE);
    }

    @Test
    void vacuumsAnInsertOnlyTableAfterTwiceAsManyNewRows() {
        assertThat(new TableStats("t", 100_000, 0, 24_001, 0).due(properties)).isEqualTo(Upkeep.VACUUM);
        assertThat(new TableStats("t", 100_000, 0, 24_000, 0).due(properties)).isEqualTo(Upkeep.NONE);
    }

    @Test
    void analyzesATableThatChangedWithoutDeadRows() {
        assertThat(new TableStats("t", 100_000, 0, 0, 12_001).due(properties)).isEqualTo(Upkeep.ANALYZE);
    }
}
