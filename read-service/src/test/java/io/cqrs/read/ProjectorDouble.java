package io.cqrs.read;

import io.cqrs.events.RecordChanges;
import io.cqrs.projector.RealProjection;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.RedisConnections;
import io.cqrs.testsupport.TestStream;
import io.lettuce.core.Consumer;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisBusyException;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.models.stream.PendingMessage;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowCallbackHandler;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Plays the projector for tests. Writes and deletes go through the projector's own projection ({@link RealProjection}:
 * its SQL, counters and commit notification). What the projector never does by itself is here: changing a row without
 * the notification (the moment between a commit and the arrival of its notice), and moving the stream and its
 * consumer group by hand, to make lag.
 */
@TestConfiguration(proxyBeanMethods = false)
public class ProjectorDouble implements DisposableBean {

    public static final String GROUP = "projector";

    private final JdbcTemplate jdbc;
    private final RealProjection projection;
    private final TestStream stream;
    /** Lazy, like the services' own: a paused test context closes connections opened from its Redis client. */
    private final LazyRedisConnection connection;

    ProjectorDouble(
            JdbcTemplate jdbc,
            JdbcClient jdbcClient,
            TransactionTemplate transactions,
            TestStream stream,
            RedisConnections redis) {
        this.jdbc = jdbc;
        this.projection = new RealProjection(jdbcClient, jdbc, transactions);
        this.stream = stream;
        this.connection = redis.lazy(Duration.ofSeconds(5));
    }

    /** Projects a write of {@code key} at {@code version}; the notification goes out on commit. */
    public void write(String key, String value, long version) {
        projection.write(key, value, version);
    }

    /** Projects a delete (a tombstone at {@code version}); the notification goes out on commit. */
    public void delete(String key, long version) {
        projection.delete(key, version);
    }

    /** Changes a projected row without announcing it: what the read model holds between a commit and its notice. */
    public void writeUnannounced(String key, String value, long version) {
        int changed = jdbc.update(
                "update records set value = ?, version = ?, updated_at = now() where key = ? and version < ?",
                value,
                version,
                key,
                version);
        if (changed != 1) {
            throw new IllegalStateException("No row of " + key + " below version " + version + "; write it first");
        }
    }

    /** Sends the notification for a version already committed. */
    public void announce(String key, long version) {
        for (String payload : RecordChanges.encode(List.of(new RecordChanges.Change(key, version)))) {
            jdbc.query("select pg_notify(?, ?)", (RowCallbackHandler) row -> {}, RecordChanges.CHANNEL, payload);
        }
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
    }
}
