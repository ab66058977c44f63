package io.cqrs.read.health;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The body of {@code GET /health}.
 *
 * @param status UP, DEGRADED (projection or standby lag over the threshold, Redis not answering, or keys known to
 *     differ from the write database) or DOWN (the read database not answering)
 * @param readDb UP or DOWN
 * @param redis UP or DOWN
 * @param replication present only when the read database is a streaming standby
 * @param reconciliation what the write side's reconciliation last reported; absent when it is not running or Redis
 *     does not answer
 * @param reasons why the status is not UP, one sentence each; absent when UP
 */
record ReadHealth(
        String status,
        String readDb,
        String redis,
        Projection projection,
        @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable Replication replication,
        @JsonInclude(JsonInclude.Include.NON_NULL) @Nullable Reconciliation reconciliation,
        @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> reasons) {

    ReadHealth {
        reasons = List.copyOf(reasons);
    }

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
     * @param lagSeconds how long ago the primary was at the oldest WAL position the standby has not replayed; 0 when
     *     it has replayed everything the primary had; null when unknown (the primary or the standby did not answer)
     * @param lagBytes WAL the primary has written and the standby not replayed; null when unknown
     * @param maxLagSeconds beyond this (or unknown for this long) the instance leaves readiness
     * @param healthy lag known and within the projection lag threshold
     * @param ready lag within {@code maxLagSeconds}: the instance may serve
     */
    record Replication(
            boolean standby,
            @Nullable Double lagSeconds,
            @Nullable Long lagBytes,
            double thresholdSeconds,
            double maxLagSeconds,
            boolean healthy,
            boolean ready) {}

    /**
     * @param diverged keys whose read-model state differs from the write database and that are being repaired
     * @param ahead keys whose read-model version is above the write database's: never repaired by itself, see the
     *     README ("Read model ahead of the write database")
     * @param healthy neither
     */
    record Reconciliation(long diverged, long ahead, boolean healthy) {}

    boolean isDown() {
        return DOWN.equals(status);
    }
}
