package io.cqrs.stream;

import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Reads the stream's status with a handful of non-blocking commands: {@code TIME}, {@code XLEN}, one
 * {@code XREVRANGE}, {@code XINFO GROUPS}, and per group one {@code XPENDING} summary and one {@code XRANGE}. Cheap
 * enough for a health check or a metrics scrape; never {@code XINFO STREAM FULL}.
 */
public final class StreamInspector {

    private final RedisCommands<String, String> redis;

    /** @param redis a connection for short commands; never one a blocking reader uses */
    public StreamInspector(RedisCommands<String, String> redis) {
        this.redis = redis;
    }

    public StreamStatus inspect(String stream) {
        long now = nowMillis();
        List<Object> groupInfos;
        try {
            groupInfos = redis.xinfoGroups(stream);
        } catch (RedisCommandExecutionException e) {
            if (e.getMessage() != null && e.getMessage().contains("no such key")) {
                return new StreamStatus(stream, false, 0, null, List.of(), now);
            }
            throw e;
        }
        long length = redis.xlen(stream);
        List<StreamMessage<String, String>> last = redis.xrevrange(stream, Range.unbounded(), Limit.from(1));
        StreamEntryId lastEntryId =
                last.isEmpty() ? null : StreamEntryId.parse(last.getFirst().getId());
        var groups = new ArrayList<GroupStatus>();
        for (Object info : groupInfos) {
            groups.add(group(stream, fields(info)));
        }
        return new StreamStatus(stream, true, length, lastEntryId, groups, now);
    }

    /**
     * Entries ever added to {@code stream} ({@code XINFO STREAM} {@code entries-added}, Redis 7.0+): 0 when the stream
     * does not exist, null when the server does not report it.
     */
    public @Nullable Long entriesAdded(String stream) {
        List<Object> info;
        try {
            info = redis.xinfoStream(stream);
        } catch (RedisCommandExecutionException e) {
            if (e.getMessage() != null && e.getMessage().contains("no such key")) {
                return 0L;
            }
            throw e;
        }
        Object added = fields(info).get("entries-added");
        return added == null ? null : number(added);
    }

    private GroupStatus group(String stream, Map<String, Object> info) {
        String name = text(info.get("name"));
        StreamEntryId lastDelivered = StreamEntryId.parse(text(info.get("last-delivered-id")));
        var pending = redis.xpending(stream, name);
        StreamEntryId oldestPending = pending.getCount() == 0
                ? null
                : StreamEntryId.parse(pending.getMessageIds().getLower().getValue());
        List<StreamMessage<String, String>> next = redis.xrange(
                stream,
                Range.from(Range.Boundary.excluding(lastDelivered.toString()), Range.Boundary.unbounded()),
                Limit.from(1));
        StreamEntryId firstUnread =
                next.isEmpty() ? null : StreamEntryId.parse(next.getFirst().getId());
        return new GroupStatus(
                name,
                number(info.get("consumers")),
                pending.getCount(),
                info.get("lag") == null ? null : number(info.get("lag")),
                lastDelivered,
                oldestPending,
                firstUnread);
    }

    private long nowMillis() {
        List<String> time = redis.time();
        return Long.parseLong(time.get(0)) * 1000 + Long.parseLong(time.get(1)) / 1000;
    }

    // XINFO replies arrive as flat key/value lists whose values are strings, numbers or nulls.
    private static Map<String, Object> fields(Object info) {
        List<?> flat = (List<?>) info;
        var fields = new HashMap<String, Object>();
        for (int i = 0; i + 1 < flat.size(); i += 2) {
            fields.put(text(flat.get(i)), flat.get(i + 1));
        }
        return fields;
    }

    private static String text(@Nullable Object value) {
        if (value instanceof ByteBuffer buffer) {
            return StandardCharsets.UTF_8.decode(buffer.duplicate()).toString();
        }
        if (value instanceof byte[] bytes) {
            return new String(bytes, StandardCharsets.UTF_8);
        }
        return String.valueOf(value);
    }

    private static long number(@Nullable Object value) {
        return value instanceof Number n ? n.longValue() : Long.parseLong(text(value));
    }
}
