package io.cqrs.read.health;

import java.time.Instant;
import java.time.OffsetDateTime;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The maintained counters: one row of {@code projection_state} and one of {@code read_totals}, never a scan. */
@Repository
class StatsRepository {

    record Totals(
            long records,
            long totalWrites,
            long eventsApplied,
            long eventsStale,
            long eventsDeadLettered,
            @Nullable String lastEventId,
            @Nullable Instant lastAppliedAt,
            long totalReads) {}

    private final JdbcClient jdbc;

    StatsRepository(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    Totals totals() {
        return jdbc.sql("""
                        select p.records, p.total_writes, p.events_applied, p.events_stale, p.events_dead_lettered,
                               p.last_event_id, p.last_applied_at, t.total_reads
                        from projection_state p cross join read_totals t
                        where p.projection = 'records'
                        """)
                .query((row, n) -> {
                    OffsetDateTime lastApplied = row.getObject("last_applied_at", OffsetDateTime.class);
                    return new Totals(
                            row.getLong("records"),
                            row.getLong("total_writes"),
                            row.getLong("events_applied"),
                            row.getLong("events_stale"),
                            row.getLong("events_dead_lettered"),
                            row.getString("last_event_id"),
                            lastApplied == null ? null : lastApplied.toInstant(),
                            row.getLong("total_reads"));
                })
                .single();
    }
}
