package io.cqrs.projector;

import io.cqrs.events.RecordChanges;
import io.cqrs.events.RecordEvent;
import io.cqrs.projector.ProjectionBatch.Plan;
import io.cqrs.projector.ProjectionBatch.Stored;
import io.cqrs.projector.rebuild.ShadowTarget;
import io.cqrs.stream.StreamEntryId;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.springframework.dao.EmptyResultDataAccessException;
import org.springframework.jdbc.core.ArgumentPreparedStatementSetter;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Applies batches of events to the read model: one transaction per batch, set-based SQL, version-guarded upserts,
 * tombstones for deletes, the {@code projection_state} counters and the change notifications all in that transaction.
 */
@Component
class RecordProjection {

    static final String PROJECTION = "records";

    private final JdbcClient jdbc;
    private final JdbcTemplate jdbcTemplate;
    private final TransactionTemplate transactions;
    private final Clock clock;

    RecordProjection(JdbcClient jdbc, JdbcTemplate jdbcTemplate, TransactionTemplate transactions, Clock clock) {
        this.jdbc = jdbc;
        this.jdbcTemplate = jdbcTemplate;
        this.transactions = transactions;
        this.clock = clock;
    }

    /** The projection's checkpoint, and the running rebuild's shadow table if there is one. */
    private record Locked(String checkpoint, Optional<ShadowTarget> shadow) {}

    /** What one applied batch changed. */
    record Outcome(long applied, long stale, List<RecordChanges.Change> changes, List<Instant> appliedOccurredAt) {

        static final Outcome NOTHING = new Outcome(0, 0, List.of(), List.of());

        Outcome plus(Outcome other) {
            return new Outcome(
                    applied + other.applied,
                    stale + other.stale,
                    concat(changes, other.changes),
                    concat(appliedOccurredAt, other.appliedOccurredAt));
        }

        private static <T> List<T> concat(List<T> a, List<T> b) {
            return a.isEmpty()
                    ? b
                    : b.isEmpty() ? a : Stream.concat(a.stream(), b.stream()).toList();
        }
    }

    /**
     * Applies {@code events} and counts {@code deadLettered} entries, in one transaction (the caller's, if it has one).
     *
     * @param lastEventId the highest stream entry id of the batch; the checkpoint only moves forward
     */
    public Outcome apply(List<RecordEvent> events, long deadLettered, StreamEntryId lastEventId) {
        return Objects.requireNonNull(
                transactions.execute(status -> apply(events, deadLettered, lastEventId, status.isNewTransaction())));
    }

    private Outcome apply(
            List<RecordEvent> events, long deadLettered, StreamEntryId lastEventId, boolean ownTransaction) {
        var batch = ProjectionBatch.fold(events);
        Read read = lockAndRead(batch.keys());
        Locked locked = read.locked();
        String checkpoint = locked.checkpoint();
        Plan plan = batch.plan(read.stored());
        if (!batch.isEmpty() && locked.shadow().isPresent()) {
            // The dual apply: the rebuild's shadow gets every key's newest event (in its scope), judged by the shadow's
            // own rows, so that a key the live table holds ahead of the write database is rebuilt all the same.
            locked.shadow().get().upsert(jdbc, batch.newest().parameters());
        }
        if (!plan.backdated().isEmpty()) {
            // Keys the upsert below does not touch (their newest event is not newer than their row).
            backdate(plan.backdated());
        }
        // Claimed and redelivered entries can be older than the checkpoint: it only ever moves forward.
        StreamEntryId newCheckpoint =
                checkpoint.isEmpty() || StreamEntryId.parse(checkpoint).compareTo(lastEventId) < 0
                        ? lastEventId
                        : StreamEntryId.parse(checkpoint);
        // The upsert, the counters and the change notifications in one statement: one round trip instead of three, on
        // the path of every batch however small (commit to visible at low rates is round trips).
        var parameters = new ArrayList<Object>(List.of(plan.rows().parameters()));
        parameters.addAll(List.of(
                plan.applied(),
                plan.stale(),
                deadLettered,
                plan.recordsDelta(),
                plan.totalWritesDelta(),
                newCheckpoint.toString(),
                PROJECTION,
                RecordChanges.CHANNEL));
        // Last before the commit: the time it says lets the read service time the commit and delivery.
        parameters.add(RecordChanges.encode(plan.changes(), clock.instant()).toArray(String[]::new));
        // The commit goes with the last statement when the transaction is this batch's own: one round trip fewer per
        // batch. PgJDBC then finds no transaction open and sends nothing when the transaction manager commits; a
        // failing statement skips the commit (PostgreSQL ignores the rest of the round trip), and the transaction
        // manager rolls back as before.
        jdbcTemplate.execute(ownTransaction ? APPLY + ";\ncommit" : APPLY, (PreparedStatement statement) -> {
            new ArgumentPreparedStatementSetter(parameters.toArray()).setValues(statement);
            statement.execute();
            return null;
        });
        return new Outcome(plan.applied(), plan.stale(), plan.changes(), plan.appliedOccurredAt());
    }

    /** The locked projection state, and what the read model holds for the batch's keys. */
    private record Read(Locked locked, Map<String, Stored> stored) {}

    // Every projector transaction starts by locking the one counter row: concurrent batches (several instances, claimed
    // entries) then apply one after the other, so each sees the rows the previous one committed and the counter deltas
    // computed from them are exact. The same statement says whether a rebuild runs, and so where else the batch goes.
    private static final String LOCK = """
            select coalesce(last_event_id, ''), rebuild_table, rebuild_from, rebuild_to, rebuild_prefix
              from projection_state where projection = ? for update""";

    private static final String STORED =
            "select key, version, deleted, write_count, created_at from records where key = any(?::text[])";

    /**
     * Locks the projection state and reads the stored rows of {@code keys} in one round trip: two statements sent
     * together, each with its own snapshot (read committed), the second taken once the first holds the lock, so it sees
     * what the previous batch committed. (One statement could not: its snapshot would predate the wait for the lock.)
     * On the path of every batch however small, where commit to visible at low rates is round trips.
     */
    private Read lockAndRead(List<String> keys) {
        return Objects.requireNonNull(jdbcTemplate.execute(LOCK + ";\n" + STORED, (PreparedStatement statement) -> {
            statement.setString(1, PROJECTION);
            statement.setObject(2, keys.toArray(String[]::new));
            statement.execute();
            Locked locked;
            try (ResultSet rs = statement.getResultSet()) {
                if (!rs.next()) {
                    throw new EmptyResultDataAccessException("projection_state has no row for " + PROJECTION, 1);
                }
                locked = new Locked(
                        rs.getString(1),
                        ShadowTarget.of(rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5)));
            }
            if (!statement.getMoreResults()) {
                throw new IllegalStateException("no stored rows came back with the projection's lock");
            }
            var stored = new HashMap<String, Stored>();
            try (ResultSet rs = statement.getResultSet()) {
                while (rs.next()) {
                    stored.put(
                            rs.getString("key"),
                            new Stored(
                                    rs.getLong("version"),
                                    rs.getBoolean("deleted"),
                                    rs.getLong("write_count"),
                                    rs.getObject("created_at", OffsetDateTime.class)
                                            .toInstant()));
                }
            }
            return new Read(locked, stored);
        }));
    }

    /**
     * Upserts the batch's rows, moves the counters and the checkpoint, and sends one notification per changed key.
     * Only keys whose newest event is newer than their row (or corrects it at the same version) are among the rows; the
     * guard repeats that in SQL so that the statement alone can never move a key backwards. A tombstone keeps its
     * version, so a late older write loses. The notifications go out inside the transaction: PostgreSQL delivers them on
     * commit, and never for a rolled-back batch. A {@code WITH} query that the main query does not read never runs:
     * hence the count of {@code notified}.
     */
    private static final String APPLY = """
            with upserted as (
                insert into records as r (key, value, version, write_count, deleted, created_at, updated_at,
                                          last_command_id)
                select b.key, b.value, b.version, b.write_count, b.deleted, b.created_at, b.updated_at,
                       b.last_command_id
                  from unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::boolean[],
                              ?::timestamptz[], ?::timestamptz[], ?::bigint[])
                       as b(key, value, version, write_count, deleted, created_at, updated_at, last_command_id)
                 order by b.key
                on conflict (key) do update
                   set value = excluded.value,
                       version = excluded.version,
                       write_count = excluded.write_count,
                       deleted = excluded.deleted,
                       created_at = least(r.created_at, excluded.created_at),
                       updated_at = excluded.updated_at,
                       last_command_id = excluded.last_command_id
                 where r.version < excluded.version
                    or r.version = excluded.version
                       and (r.write_count, r.deleted) is distinct from (excluded.write_count, excluded.deleted)
                returning 1
            ), counted as (
                update projection_state
                   set events_applied = events_applied + ?,
                       events_stale = events_stale + ?,
                       events_dead_lettered = events_dead_lettered + ?,
                       records = records + ?,
                       total_writes = total_writes + ?,
                       last_event_id = ?,
                       last_applied_at = now()
                 where projection = ?
                returning 1
            ), notified as (
                select pg_notify(?, payload) from unnest(?::text[]) as p(payload)
            )
            select (select count(*) from upserted), (select count(*) from counted), (select count(*) from notified)
            """;

    private void backdate(List<ProjectionBatch.Backdate> backdated) {
        jdbc.sql("""
                        update records r
                           set created_at = b.created_at
                          from unnest(?::text[], ?::timestamptz[]) as b(key, created_at)
                         where r.key = b.key and b.created_at < r.created_at
                        """)
                .params(
                        backdated.stream().map(ProjectionBatch.Backdate::key).toArray(String[]::new),
                        backdated.stream().map(b -> b.createdAt().toString()).toArray(String[]::new))
                .update();
    }

    /**
     * Whether {@code failure} is the database rejecting this data (bad text, a constraint, a size limit) rather than
     * being unavailable: retrying the same batch cannot help, so the entry at fault has to be isolated.
     */
    static boolean rejectsData(Throwable failure) {
        for (@Nullable Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof SQLException sql && sql.getSQLState() != null) {
                String sqlClass = sql.getSQLState().substring(0, 2);
                return sqlClass.equals("22") || sqlClass.equals("23") || sqlClass.equals("54");
            }
        }
        return false;
    }
}
