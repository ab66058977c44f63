package io.cqrs.read.health;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.jspecify.annotations.Nullable;

/**
 * The body of {@code GET /health}.
 *
 * @param status UP, DEGRADED (projection or standby lag over the threshold, or Redis not answering) or DOWN (the read
 *     database not answering)
 * @param readDb UP or DOWN
 * @param redis UP or DOWN
 * @param replication present only when the read database is a streaming standby
 */
record ReadHealth(
        String status,
        String readDb,
        String redis,
        Projection projection,
        @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable Replication replication) {

    static final String UP = "UP";
    static final String DEGRADED = "DEGRADED";
    static final String DOWN = "DOWN";

    /**
     * @param lagSeconds age of the oldest entry the projectors have not finished; null when Redis did not answer
     * @param pending entries delivered to the group and not acknowledged; null when Redis did not answer
     * @param healthy lag known and within the threshold
     */
    record Projection(@Nullable Double lagSeconds, @Nullable Long pending, double thresholdSeconds, boolean healthy) {}

    /**
     * @param lagSeconds now minus the last replayed transaction's time, 0 when everything received is replayed; null
     *     when the standby cannot tell
     */
    record Replication(boolean standby, @Nullable Double lagSeconds, boolean healthy) {}

    boolean isDown() {
        return DOWN.equals(status);
    }
}
