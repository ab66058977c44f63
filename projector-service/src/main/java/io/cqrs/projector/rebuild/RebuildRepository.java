package io.cqrs.projector.rebuild;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/**
 * The rebuilds as the read database keeps them ({@code rebuilds}), and the dual apply's switch in
 * {@code projection_state}: what every instance sees, so that any of them answers for the running rebuild, refuses a
 * second one, and cleans up after one whose instance died.
 */
@Repository
class RebuildRepository {

    static final String PROJECTION = "records";

    private final JdbcClient jdbc;

    RebuildRepository(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** A rebuild as stored. */
    record Row(
            long id,
            RebuildState state,
            Scope scope,
            int keysPerSecond,
            long keysTotal,
            long keysDone,
            long keysVerified,
            long keysRepaired,
            @Nullable Long keysUpdated,
            @Nullable Long keysInserted,
            @Nullable Long keysDeleted,
            @Nullable Double switchSeconds,
            String differences,
            String owner,
            boolean cancelRequested,
            @Nullable String error,
            Instant startedAt,
            @Nullable Instant copyFinishedAt,
            Instant heartbeatAt,
            @Nullable Instant finishedAt,
            Instant now) {}

    /**
     * Records a new rebuild as copying, owned by {@code owner}; fails with a {@code DuplicateKeyException} while
     * another one runs ({@code rebuilds_one_running}).
     */
    long insert(Scope scope, int keysPerSecond, long keysTotal, String owner) {
        return jdbc.sql("""
                        insert into rebuilds (state, from_key, to_key, prefix, keys_per_second, keys_total, owner)
                        values ('copying', ?, ?, ?, ?, ?, ?) returning id
                        """)
                .params(scope.fromKey(), scope.toKey(), scope.prefix(), keysPerSecond, keysTotal, owner)
                .query(Long.class)
                .single();
    }

    /**
     * Turns the dual apply on: from the commit on, every projector transaction applies its batch to the shadow too.
     * Waits for the batch in progress, which holds the row.
     */
    void applyToShadow(ShadowTarget shadow) {
        jdbc.sql("""
                        update projection_state
                           set rebuild_table = ?, rebuild_from = ?, rebuild_to = ?, rebuild_prefix = ?
                         where projection = ?
                        """)
                .params(
                        shadow.table(),
                        shadow.scope().fromKey(),
                        shadow.scope().toKey(),
                        shadow.scope().prefix(),
                        PROJECTION)
                .update();
    }

    /** Turns the dual apply off, if it still targets {@code table}. */
    void stopApplyingToShadow(String table) {
        jdbc.sql("""
                        update projection_state
                           set rebuild_table = null, rebuild_from = null, rebuild_to = null, rebuild_prefix = null
                         where projection = ? and rebuild_table = ?
                        """).params(PROJECTION, table).update();
    }

    /** The shadow table the dual apply targets now, if any. */
    Optional<String> shadowApplied() {
        return Optional.ofNullable(jdbc.sql("select rebuild_table from projection_state where projection = ?")
                .param(PROJECTION)
                .query(String.class)
                .optional()
                .orElse(null));
    }

    /**
     * Stores the progress and the heartbeat of a running rebuild; returns whether a cancel was asked for (false when
     * it is no longer running: nothing to continue either way).
     */
    boolean progress(long id, RebuildState state, long keysDone, long keysVerified, long keysRepaired) {
        return jdbc.sql("""
                        update rebuilds
                           set state = ?, keys_done = ?, keys_verified = ?, keys_repaired = ?, heartbeat_at = now()
                         where id = ? and finished_at is null
                        returning cancel_requested
                        """)
                .params(state.label(), keysDone, keysVerified, keysRepaired, id)
                .query(Boolean.class)
                .optional()
                .orElse(true);
    }

    /** The instance running {@code id} is alive; returns whether a cancel was asked for (true when it ended). */
    boolean heartbeat(long id) {
        return jdbc.sql("update rebuilds set heartbeat_at = now() where id = ? and finished_at is null"
                        + " returning cancel_requested")
                .param(id)
                .query(Boolean.class)
                .optional()
                .orElse(true);
    }

    void copyFinished(long id) {
        jdbc.sql("update rebuilds set copy_finished_at = clock_timestamp() where id = ?")
                .param(id)
                .update();
    }

    /** Asks the running rebuild to stop (its instance sees it at its next step); false if none runs. */
    boolean requestCancel(long id) {
        return jdbc.sql("update rebuilds set cancel_requested = true where id = ? and finished_at is null"
                                + " and state <> 'switching'")
                        .param(id)
                        .update()
                > 0;
    }

    /**
     * Ends a rebuild that has not ended yet as {@code state}; returns whether it did (false when it had ended, or was
     * ended by another instance meanwhile).
     */
    boolean finish(long id, RebuildState state, @Nullable String error, String differences) {
        return jdbc.sql("""
                                update rebuilds set state = ?, error = ?, differences = ?::jsonb, finished_at = clock_timestamp()
                                 where id = ? and finished_at is null
                                """).params(state.label(), error, differences, id).update() > 0;
    }

    /** Within the switch's transaction: the rebuild, locked, if it still runs. */
    Optional<Row> lockRunning(long id) {
        return jdbc.sql(SELECT + " where id = ? and finished_at is null for update")
                .param(id)
                .query((rs, row) -> row(rs))
                .optional();
    }

    /** Within the switch's transaction: the rebuild is done, and what the switch changed. */
    void switched(long id, long updated, long inserted, long deleted, double seconds) {
        jdbc.sql("""
                        update rebuilds
                           set state = 'done', finished_at = clock_timestamp(), keys_updated = ?, keys_inserted = ?,
                               keys_deleted = ?, switch_seconds = ?
                         where id = ?
                        """).params(updated, inserted, deleted, seconds, id).update();
    }

    /** The newest rebuild, running or not. */
    Optional<Row> latest() {
        return jdbc.sql(SELECT + " order by id desc limit 1")
                .query((rs, row) -> row(rs))
                .optional();
    }

    /** The running rebuild, if any. */
    Optional<Row> running() {
        return jdbc.sql(SELECT + " where finished_at is null")
                .query((rs, row) -> row(rs))
                .optional();
    }

    /** Running rebuilds whose instance has not said it is alive for {@code timeout}, by the database's clock. */
    List<Row> abandoned(Duration timeout) {
        return jdbc.sql(SELECT + " where finished_at is null and heartbeat_at < now() - ?::interval")
                .param(timeout.toMillis() + " milliseconds")
                .query((rs, row) -> row(rs))
                .list();
    }

    private static final String SELECT = """
            select id, state, from_key, to_key, prefix, keys_per_second, keys_total, keys_done, keys_verified,
                   keys_repaired, keys_updated, keys_inserted, keys_deleted, switch_seconds, differences::text,
                   owner, cancel_requested, error, started_at, copy_finished_at, heartbeat_at, finished_at,
                   now() as now
              from rebuilds""";

    private static Row row(java.sql.ResultSet rs) throws java.sql.SQLException {
        return new Row(
                rs.getLong("id"),
                RebuildState.of(rs.getString("state")),
                new Scope(rs.getString("from_key"), rs.getString("to_key"), rs.getString("prefix")),
                rs.getInt("keys_per_second"),
                rs.getLong("keys_total"),
                rs.getLong("keys_done"),
                rs.getLong("keys_verified"),
                rs.getLong("keys_repaired"),
                rs.getObject("keys_updated", Long.class),
                rs.getObject("keys_inserted", Long.class),
                rs.getObject("keys_deleted", Long.class),
                rs.getObject("switch_seconds", Double.class),
                rs.getString("differences"),
                rs.getString("owner"),
                rs.getBoolean("cancel_requested"),
                rs.getString("error"),
                instant(rs, "started_at"),
                instantOrNull(rs, "copy_finished_at"),
                instant(rs, "heartbeat_at"),
                instantOrNull(rs, "finished_at"),
                instant(rs, "now"));
    }

    private static Instant instant(java.sql.ResultSet rs, String column) throws java.sql.SQLException {
        return rs.getObject(column, OffsetDateTime.class).toInstant();
    }

    private static @Nullable Instant instantOrNull(java.sql.ResultSet rs, String column) throws java.sql.SQLException {
        OffsetDateTime time = rs.getObject(column, OffsetDateTime.class);
        return time == null ? null : time.toInstant();
    }
}
