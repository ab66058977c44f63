package io.cqrs.write.outbox;

import io.cqrs.events.RecordEvent;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Publication state of the outbox rows; the events themselves are built from their commands' rows. */
@Repository
class OutboxRepository {

    private final JdbcClient jdbc;

    OutboxRepository(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    // The publish mark; %s: a WITH clause, %s: what the FROM list adds for it.
    private static final String MARK = """
            %s update outbox set published_at = clock_timestamp(), stream_id = p.stream_id,
                              attempts = attempts + 1,
                              last_error = null
            from unnest(?::bigint[], ?::text[]) as p(command_id, stream_id)%s
            where outbox.command_id = p.command_id and outbox.published_at is null
            """;

    private static final String MARK_IN_TRANSACTION = MARK.formatted("", "");

    // A statement that is its own transaction and commits without waiting for the WAL flush: set_config(..., true)
    // holds for the statement's implicit transaction, commit included. One round trip, where BEGIN, SET LOCAL, the
    // update and COMMIT took three.
    private static final String MARK_ALONE =
            MARK.formatted("with relaxed as (select set_config('synchronous_commit', 'off', true))", ", relaxed");

    /**
     * Marks rows published, in the caller's transaction.
     *
     * <p>{@code published_at} is the clock at this statement, after Redis acknowledged the XADDs, not the transaction's
     * start (the sweeper's began before its XADDs): {@link StreamLossDetector} replays the rows published after a
     * mark's time, so an event Redis took after the mark must never look published before it.
     */
    void markPublished(Map<Long, String> streamIds) {
        mark(MARK_IN_TRANSACTION, streamIds);
    }

    /**
     * Marks rows published in one statement that is a transaction of its own (call it outside any transaction), whose
     * commit does not wait for the WAL flush: losing the mark in a crash only means the sweeper publishes the events
     * again, which the projector ignores. {@code published_at} as in {@link #markPublished}.
     */
    void markPublishedAlone(Map<Long, String> streamIds) {
        mark(MARK_ALONE, streamIds);
    }

    private void mark(String sql, Map<Long, String> streamIds) {
        if (streamIds.isEmpty()) {
            return;
        }
        jdbc.sql(sql)
                .params(
                        streamIds.keySet().stream().mapToLong(Long::longValue).toArray(),
                        streamIds.values().toArray(String[]::new))
                .update();
    }

    /** Puts the rows off with exponential backoff (1 s, 2 s, 4 s ... up to {@code maxBackoff}) and the reason. */
    void markFailed(Collection<Long> commandIds, String error, Duration maxBackoff) {
        jdbc.sql("""
                        update outbox set attempts = attempts + 1, last_error = ?,
                            next_attempt_at = now() + least(?::interval, interval '1 second' * power(2, least(attempts, 20)))
                        where command_id = any(?) and published_at is null
                        """)
                .params(
                        error,
                        interval(maxBackoff),
                        commandIds.stream().mapToLong(Long::longValue).toArray())
                .update();
    }

    /**
     * The events of due outbox rows, oldest first, and the trace contexts of those whose request was traced (command id
     * → traceparent).
     */
    record Due(List<RecordEvent> events, Map<Long, String> traceparents) {}

    /**
     * Locks up to {@code limit} due, unpublished rows for this transaction, skipping rows another instance holds, and
     * returns their events, oldest first.
     */
    Due lockDue(int limit) {
        var traceparents = new HashMap<Long, String>();
        var events = jdbc.sql("""
                        select c.id, c.key, c.version, c.op, c.value, c.write_count, c.created_at, o.traceparent
                        from outbox o join commands c on c.id = o.command_id
                        where o.published_at is null and o.next_attempt_at <= now()
                        order by o.next_attempt_at
                        limit ?
                        for update of o skip locked
                        """)
                .param(limit)
                .query((rs, row) -> {
                    String traceparent = rs.getString("traceparent");
                    if (traceparent != null) {
                        traceparents.put(rs.getLong("id"), traceparent);
                    }
                    return OutboxEvents.of(
                            rs.getLong("id"),
                            rs.getString("key"),
                            "delete".equals(rs.getString("op")),
                            rs.getString("value"),
                            rs.getLong("version"),
                            rs.getLong("write_count"),
                            rs.getTimestamp("created_at").toInstant());
                })
                .list();
        return new Due(events, traceparents);
    }

    /** Unpublished rows and the creation time of the oldest; a partial index keeps this as cheap as the backlog. */
    Backlog backlog() {
        return jdbc.sql("select count(*), min(created_at) from outbox where published_at is null")
                .query((rs, row) -> new Backlog(
                        rs.getLong(1),
                        rs.getTimestamp(2) == null ? null : rs.getTimestamp(2).toInstant()))
                .single();
    }

    int deletePublishedOlderThan(Duration retention, int limit) {
        return jdbc.sql("""
                        delete from outbox where command_id in (
                            select command_id from outbox
                            where published_at is not null and published_at < now() - ?::interval limit ?)
                        """).params(interval(retention), limit).update();
    }

    /** The database's clock, so that replay bounds compare with {@code published_at} on one clock. */
    Instant now() {
        return jdbc.sql("select now()")
                .query((rs, row) -> rs.getTimestamp(1).toInstant())
                .single();
    }

    /** Whether some row was published within the retention window before {@code until}. */
    boolean anyPublished(Duration retention, Instant until) {
        return jdbc.sql("""
                        select exists (select 1 from outbox where published_at is not null
                                       and published_at > ?::timestamptz - ?::interval and published_at <= ?)
                        """)
                .params(Timestamp.from(until), interval(retention), Timestamp.from(until))
                .query(Boolean.class)
                .single();
    }

    /**
     * Marks up to {@code limit} rows published after {@code since} and up to {@code until} unpublished again and due
     * now, with {@code reason} as their last error, so that the sweeper publishes them once more. Rows are locked in
     * {@code published_at} order, so two instances replaying at once wait for each other instead of deadlocking; the
     * second finds less to do.
     */
    int unpublish(Instant since, Instant until, int limit, String reason) {
        return jdbc.sql("""
                        with batch as (
                            select command_id from outbox
                            where published_at is not null and published_at > ? and published_at <= ?
                            order by published_at
                            limit ?
                            for update)
                        update outbox o set published_at = null, stream_id = null, next_attempt_at = now(),
                                            last_error = ?
                        from batch where o.command_id = batch.command_id
                        """)
                .params(Timestamp.from(since), Timestamp.from(until), limit, reason)
                .update();
    }

    record Backlog(long rows, @Nullable Instant oldestCreatedAt) {}

    private static String interval(Duration duration) {
        return duration.toMillis() + " milliseconds";
    }
}
