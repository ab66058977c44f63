package io.cqrs.write.outbox;

import io.cqrs.events.RecordDeleted;
import io.cqrs.events.RecordEvent;
import io.cqrs.events.RecordWritten;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Publication state of the outbox rows; the events themselves are rebuilt from their commands. */
@Repository
class OutboxRepository {

    private final JdbcClient jdbc;

    OutboxRepository(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** Adds the rows for freshly committed commands; the sweeper leaves them to the relay for {@code sweepDelay}. */
    void add(long[] commandIds, Duration sweepDelay) {
        jdbc.sql("insert into outbox (command_id, next_attempt_at) select unnest(?::bigint[]), now() + ?::interval")
                .params(commandIds, interval(sweepDelay))
                .update();
    }

    /**
     * Marks rows published. Runs in the caller's transaction; when that transaction exists only for this, it may
     * commit without waiting for the WAL flush ({@link #relaxDurability()}): losing the mark in a crash only means the
     * sweeper publishes the events again, which the projector ignores.
     */
    void markPublished(Map<Long, String> streamIds) {
        if (streamIds.isEmpty()) {
            return;
        }
        jdbc.sql("""
                        update outbox set published_at = now(), stream_id = p.stream_id, attempts = attempts + 1,
                                          last_error = null
                        from unnest(?::bigint[], ?::text[]) as p(command_id, stream_id)
                        where outbox.command_id = p.command_id and outbox.published_at is null
                        """)
                .params(
                        streamIds.keySet().stream().mapToLong(Long::longValue).toArray(),
                        streamIds.values().toArray(String[]::new))
                .update();
    }

    /** Lets the current transaction commit without waiting for its WAL record to reach the disk. */
    void relaxDurability() {
        jdbc.sql("set local synchronous_commit = off").update();
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
     * Locks up to {@code limit} due, unpublished rows for this transaction, skipping rows another instance holds, and
     * returns their events, oldest first.
     */
    List<RecordEvent> lockDue(int limit) {
        return jdbc.sql("""
                        select c.id, c.key, c.version, c.op, c.value, c.write_count, c.created_at
                        from outbox o join commands c on c.id = o.command_id
                        where o.published_at is null and o.next_attempt_at <= now()
                        order by o.next_attempt_at
                        limit ?
                        for update of o skip locked
                        """)
                .param(limit)
                .query((rs, row) -> event(
                        rs.getLong("id"),
                        rs.getString("key"),
                        rs.getLong("version"),
                        rs.getString("op"),
                        rs.getString("value"),
                        rs.getLong("write_count"),
                        rs.getTimestamp("created_at").toInstant()))
                .list();
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

    record Backlog(long rows, @Nullable Instant oldestCreatedAt) {}

    private static RecordEvent event(
            long id, String key, long version, String op, @Nullable String value, long writeCount, Instant createdAt) {
        return "delete".equals(op)
                ? new RecordDeleted(id, key, version, writeCount, createdAt)
                : new RecordWritten(id, key, java.util.Objects.requireNonNull(value), version, writeCount, createdAt);
    }

    private static String interval(Duration duration) {
        return duration.toMillis() + " milliseconds";
    }
}
