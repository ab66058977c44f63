package io.cqrs.read;

import io.cqrs.events.RecordChanges;
import io.cqrs.testsupport.TestStream;
import io.lettuce.core.Consumer;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisBusyException;
import io.lettuce.core.RedisClient;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.models.stream.PendingMessage;
import java.util.List;
import java.util.Map;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowCallbackHandler;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Plays the projector for tests: writes {@code records} and {@code projection_state} as it would, sends the commit
 * notification in the same transaction, and moves the stream and its consumer group with plain Lettuce.
 */
@TestConfiguration(proxyBeanMethods = false)
public class ProjectorDouble implements DisposableBean {

    public static final String GROUP = "projector";

    private final JdbcTemplate jdbc;
    private final TransactionTemplate transactions;
    private final TestStream stream;
    private final RedisClient redisClient;
    private final StatefulRedisConnection<String, String> connection;

    ProjectorDouble(JdbcTemplate jdbc, TransactionTemplate transactions, TestStream stream) {
        this.jdbc = jdbc;
        this.transactions = transactions;
        this.stream = stream;
        this.redisClient = RedisClient.create(stream.redisUri());
        this.connection = redisClient.connect();
    }

    /** Projects a write of {@code key} at {@code version} and announces it on commit. */
    public void write(String key, String value, long version) {
        transactions.executeWithoutResult(tx -> {
            upsert(key, value, version, false);
            announce(key, version);
        });
    }

    /** Projects a delete (a tombstone at {@code version}) and announces it on commit. */
    public void delete(String key, long version) {
        transactions.executeWithoutResult(tx -> {
            upsert(key, null, version, true);
            announce(key, version);
        });
    }

    /** Changes the row without announcing it: what the read model holds between a commit and its notification. */
    public void writeUnannounced(String key, String value, long version) {
        upsert(key, value, version, false);
    }

    /** Sends the notification for a version already committed. */
    public void announce(String key, long version) {
        for (String payload : RecordChanges.encode(List.of(new RecordChanges.Change(key, version)))) {
            jdbc.query("select pg_notify(?, ?)", (RowCallbackHandler) row -> {}, RecordChanges.CHANNEL, payload);
        }
    }

    private void upsert(String key, String value, long version, boolean deleted) {
        jdbc.update("""
                insert into records (key, value, version, write_count, deleted, created_at, updated_at, last_command_id)
                values (?, ?, ?, ?, ?, now(), now(), ?)
                on conflict (key) do update set value = excluded.value, version = excluded.version,
                    write_count = excluded.write_count, deleted = excluded.deleted, updated_at = excluded.updated_at,
                    last_command_id = excluded.last_command_id
                where records.version < excluded.version
                """, key, value, version, version, deleted, version);
    }

    public JdbcTemplate jdbc() {
        return jdbc;
    }

    public RedisCommands<String, String> redis() {
        return connection.sync();
    }

    public String streamName() {
        return stream.name();
    }

    /** Creates the projectors' group (from the start of the stream) unless it exists. */
    public void createGroup() {
        try {
            redis().xgroupCreate(
                            XReadArgs.StreamOffset.from(stream.name(), "0"),
                            GROUP,
                            XGroupCreateArgs.Builder.mkstream());
        } catch (RedisBusyException e) {
            // BUSYGROUP: it exists.
        }
    }

    /** Appends an entry, as the write service's relay would. */
    public String publish(String key) {
        return redis().xadd(stream.name(), Map.of("type", "record.written", "key", key));
    }

    /** Delivers every new entry to a projector that does not acknowledge them: work waiting on a stalled consumer. */
    public List<StreamMessage<String, String>> deliver() {
        return redis().xreadgroup(Consumer.from(GROUP, "stalled"), XReadArgs.StreamOffset.lastConsumed(stream.name()));
    }

    /** Acknowledges entries, as a projector that resumed would after committing them. */
    public void acknowledge(List<StreamMessage<String, String>> entries) {
        if (!entries.isEmpty()) {
            redis().xack(
                            stream.name(),
                            GROUP,
                            entries.stream().map(StreamMessage::getId).toArray(String[]::new));
        }
    }

    /** Delivers and acknowledges everything, leaving the group with no lag. */
    public void catchUp() {
        createGroup();
        acknowledge(deliver());
        var pending = redis().xpending(stream.name(), GROUP);
        if (pending.getCount() > 0) {
            var ids =
                    redis()
                            .xpending(stream.name(), GROUP, Range.create("-", "+"), Limit.from(pending.getCount()))
                            .stream()
                            .map(PendingMessage::getId)
                            .toArray(String[]::new);
            redis().xack(stream.name(), GROUP, ids);
        }
    }

    @Override
    public void destroy() {
        connection.close();
        redisClient.shutdown();
    }
}
