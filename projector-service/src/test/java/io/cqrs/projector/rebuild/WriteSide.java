package io.cqrs.projector.rebuild;

import io.cqrs.events.EventCodec;
import io.cqrs.events.RecordDeleted;
import io.cqrs.events.RecordEvent;
import io.cqrs.events.RecordWritten;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.OffsetDateTime;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Plays the write service against a real write database (its schema, migrated from {@code db/migrations/write}): a
 * command commits the key's state, the command row and its outbox row in one transaction, then its event goes to the
 * stream, as the relay puts it there after the commit.
 */
final class WriteSide {

    private final JdbcClient jdbc;
    private final TransactionTemplate transactions;
    private final RedisCommands<String, String> redis;
    private final String stream;

    WriteSide(JdbcClient jdbc, TransactionTemplate transactions, RedisCommands<String, String> redis, String stream) {
        this.jdbc = jdbc;
        this.transactions = transactions;
        this.redis = redis;
        this.stream = stream;
    }

    /** The value a write of {@code key} at {@code version} gives it: a reader can tell it belongs to that version. */
    static String valueOf(String key, long version) {
        return key + " v" + version;
    }

    RecordEvent write(String key) {
        return publish(commit(key, false));
    }

    RecordEvent delete(String key) {
        return publish(commit(key, true));
    }

    /** Commits a command without publishing its event: one the stream never carried. */
    RecordEvent commit(String key, boolean delete) {
        return transactions.execute(status -> {
            var state = jdbc.sql("""
                            insert into key_state as s (key, version, write_count, deleted, updated_at)
                            values (:key, 1, :writes, :deleted, now())
                            on conflict (key) do update
                               set version = s.version + 1, write_count = s.write_count + :writes,
                                   deleted = :deleted, updated_at = now()
                            returning version, write_count
                            """)
                    .param("key", key)
                    .param("writes", delete ? 0 : 1)
                    .param("deleted", delete)
                    .query((rs, row) -> new long[] {rs.getLong(1), rs.getLong(2)})
                    .single();
            long version = state[0];
            long writeCount = state[1];
            String value = delete ? null : valueOf(key, version);
            var command = jdbc.sql("""
                            insert into commands (key, version, op, value, write_count)
                            values (?, ?, ?, ?, ?) returning id, created_at
                            """)
                    .params(key, version, delete ? "delete" : "write", value, writeCount)
                    .query((rs, row) -> new Object[] {rs.getLong(1), rs.getObject(2, OffsetDateTime.class)})
                    .single();
            long id = (long) command[0];
            var occurredAt = ((OffsetDateTime) command[1]).toInstant();
            jdbc.sql("insert into outbox (command_id, published_at) values (?, now())")
                    .param(id)
                    .update();
            return delete
                    ? new RecordDeleted(id, key, version, writeCount, occurredAt)
                    : new RecordWritten(id, key, value, version, writeCount, occurredAt);
        });
    }

    RecordEvent publish(RecordEvent event) {
        redis.xadd(stream, EventCodec.encode(event));
        return event;
    }
}
