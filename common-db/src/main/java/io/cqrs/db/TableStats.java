package io.cqrs.db;

/**
 * What PostgreSQL's statistics say about one table since it was last vacuumed and analyzed.
 *
 * @param name the table's name, quoted for use in a statement
 */
record TableStats(String name, long liveRows, long deadRows, long insertedSinceVacuum, long changedSinceAnalyze) {

    /** What the table needs now: dead rows past the threshold, or as many rows inserted (for the visibility map). */
    Upkeep due(UpkeepProperties properties) {
        double threshold = properties.minDeadRows() + properties.deadFraction() * liveRows;
        if (deadRows > threshold || insertedSinceVacuum > 2 * threshold) {
            return Upkeep.VACUUM;
        }
        if (changedSinceAnalyze > threshold) {
            return Upkeep.ANALYZE;
        }
        return Upkeep.NONE;
    }

    enum Upkeep {
        NONE,
        ANALYZE,
        VACUUM
    }
}
