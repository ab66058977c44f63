package io.cqrs.db;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * What PostgreSQL's statistics say about one table since it was last vacuumed and analyzed.
 *
 * @param name the table's name, quoted for use in a statement
 * @param sinceAnalyze how long ago it was last analyzed, by anyone; null: never
 */
record TableStats(
        String name,
        long liveRows,
        long deadRows,
        long insertedSinceVacuum,
        long changedSinceAnalyze,
        @Nullable Duration sinceAnalyze) {

    /**
     * What the table needs now: a vacuum for dead rows past the threshold, or as many rows inserted (for the visibility
     * map); an analysis for as many rows changed, at most once per {@link UpkeepProperties#analyzeInterval()}. Measured
     * under a steady write load, analyzing the hot tables at every ten-second round took 12 % of PostgreSQL's time, to
     * learn what a table of the same keys with new values looked like ten seconds before.
     */
    Upkeep due(UpkeepProperties properties) {
        double threshold = properties.minDeadRows() + properties.deadFraction() * liveRows;
        boolean vacuum = deadRows > threshold || insertedSinceVacuum > 2 * threshold;
        boolean analyze = changedSinceAnalyze > threshold
                && (sinceAnalyze == null || sinceAnalyze.compareTo(properties.analyzeInterval()) >= 0);
        if (vacuum) {
            return analyze ? Upkeep.VACUUM_ANALYZE : Upkeep.VACUUM;
        }
        return analyze ? Upkeep.ANALYZE : Upkeep.NONE;
    }

    /**
     * @param statement what runs, before the table's name
     * @param kind the {@code kind} tag of {@code cqrs_db_upkeep_total}: a vacuum that analyzes too is a vacuum
     */
    enum Upkeep {
        NONE("", ""),
        ANALYZE("analyze", "analyze"),
        VACUUM("vacuum", "vacuum"),
        VACUUM_ANALYZE("vacuum (analyze)", "vacuum");

        final String statement;
        final String kind;

        Upkeep(String statement, String kind) {
            this.statement = statement;
            this.kind = kind;
        }
    }
}
