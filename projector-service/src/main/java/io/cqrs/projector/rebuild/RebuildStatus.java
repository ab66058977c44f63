package io.cqrs.projector.rebuild;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * {@code GET /actuator/rebuild}: the running rebuild, or the latest one, or {@code idle} before the first. The rate
 * is the copy's average so far, the ETA the copy's rest at that rate (0 once it is done).
 */
record RebuildStatus(
        @Nullable Long id,
        String state,
        Map<String, String> scope,
        @JsonProperty("keys_done") long keysDone,
        @JsonProperty("keys_total") long keysTotal,
        @JsonProperty("keys_verified") long keysVerified,
        @JsonProperty("keys_repaired") long keysRepaired,
        @JsonProperty("keys_per_second") double keysPerSecond,
        @JsonProperty("eta_seconds") @Nullable Double etaSeconds,
        @JsonProperty("limit_keys_per_second") @Nullable Integer limitKeysPerSecond,
        @JsonProperty("started_at") @Nullable String startedAt,
        @JsonProperty("finished_at") @Nullable String finishedAt,
        @JsonProperty("switch") @Nullable SwitchOutcome switchOutcome,
        List<Difference> differences,
        @Nullable String error,
        @Nullable String owner) {

    static final RebuildStatus IDLE = new RebuildStatus(
            null, "idle", Map.of(), 0, 0, 0, 0, 0, null, null, null, null, null, List.of(), null, null);

    /** What the switch changed and how long its transaction took. */
    record SwitchOutcome(
            @JsonProperty("keys_updated") long keysUpdated,
            @JsonProperty("keys_inserted") long keysInserted,
            @JsonProperty("keys_deleted") long keysDeleted,
            double seconds) {}

    static RebuildStatus of(RebuildRepository.Row row, List<Difference> differences) {
        Instant copyEnd = row.copyFinishedAt() != null
                ? row.copyFinishedAt()
                : row.finishedAt() != null ? row.finishedAt() : row.now();
        double seconds =
                Math.max(0.001, Duration.between(row.startedAt(), copyEnd).toNanos() / 1e9);
        double rate = row.keysDone() / seconds;
        Double eta = row.state() != RebuildState.COPYING
                ? (row.state() == RebuildState.DONE || row.copyFinishedAt() != null ? 0.0 : null)
                : rate <= 0 ? null : Math.max(0, row.keysTotal() - row.keysDone()) / rate;
        SwitchOutcome switched = row.switchSeconds() == null
                ? null
                : new SwitchOutcome(
                        orZero(row.keysUpdated()),
                        orZero(row.keysInserted()),
                        orZero(row.keysDeleted()),
                        row.switchSeconds());
        return new RebuildStatus(
                row.id(),
                row.state().label(),
                row.scope().asMap(),
                row.keysDone(),
                row.keysTotal(),
                row.keysVerified(),
                row.keysRepaired(),
                Math.round(rate * 10) / 10.0,
                eta == null ? null : (double) Math.round(eta),
                row.keysPerSecond(),
                row.startedAt().toString(),
                row.finishedAt() == null ? null : row.finishedAt().toString(),
                switched,
                differences,
                row.error(),
                row.owner());
    }

    private static long orZero(@Nullable Long value) {
        return value == null ? 0 : value;
    }
}
