package io.cqrs.write.outbox;

import java.time.Duration;
import java.time.Instant;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The marks of each stream's clock ({@code stream_marks}) that {@link StreamLossDetector} sets in Redis. */
@Repository
class StreamMarks {

    private final JdbcClient jdbc;

    StreamMarks(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /**
     * @param runId the Redis process the mark was set on; null for the mark taken over from the epoch of V4
     * @param confirmed whether Redis is known to have taken it
     */
    record Mark(
            long seq,
            String token,
            Instant markedAt,
            @Nullable String runId,
            boolean confirmed) {}

    /** The stream's latest confirmed mark, or null before the first one. */
    @Nullable
    Long latestConfirmed(String stream) {
        return greatest(
                "select seq from stream_marks where stream = ? and confirmed order by seq desc limit 1", stream);
    }

    /** The stream's greatest mark, confirmed or not, or null before the first one. */
    @Nullable
    Long latest(String stream) {
        return greatest("select seq from stream_marks where stream = ? order by seq desc limit 1", stream);
    }

    /** The mark whose token Redis holds, or null when the token is missing or not one of ours. */
    @Nullable
    Mark find(String stream, @Nullable String token) {
        if (token == null) {
            return null;
        }
        return jdbc.sql(
                        "select seq, token, marked_at, run_id, confirmed from stream_marks where stream = ? and token = ?")
                .params(stream, token)
                .query((rs, row) -> new Mark(
                        rs.getLong("seq"),
                        rs.getString("token"),
                        rs.getTimestamp("marked_at").toInstant(),
                        rs.getString("run_id"),
                        rs.getBoolean("confirmed")))
                .optional()
                .orElse(null);
    }

    /**
     * Records mark {@code seq}, unconfirmed, at the database's clock, before it is set in Redis. Of several instances
     * claiming the same number, one wins: returns whether this call did.
     */
    boolean claim(String stream, long seq, String token, String runId) {
        return jdbc.sql("""
                        insert into stream_marks (stream, seq, token, marked_at, run_id)
                        values (?, ?, ?, now(), ?) on conflict do nothing
                        """).params(stream, seq, token, runId).update() == 1;
    }

    /** Records that Redis took the mark. */
    void confirm(String stream, long seq) {
        jdbc.sql("update stream_marks set confirmed = true where stream = ? and seq = ? and not confirmed")
                .params(stream, seq)
                .update();
    }

    /**
     * Deletes marks older than {@code retention} except the latest confirmed one: Redis found holding one of them has
     * lost more than the outbox keeps, which counts as a total loss. Without the latest, a Redis that was down for longer
     * would look like a fresh install.
     */
    int deleteOlderThan(String stream, Duration retention) {
        return jdbc.sql("""
                        delete from stream_marks
                        where stream = ? and marked_at < now() - ?::interval
                          and seq < (select max(seq) from stream_marks where stream = ? and confirmed)
                        """)
                .params(stream, retention.toMillis() + " milliseconds", stream)
                .update();
    }

    private @Nullable Long greatest(String sql, String stream) {
        return jdbc.sql(sql).param(stream).query(Long.class).optional().orElse(null);
    }
}
