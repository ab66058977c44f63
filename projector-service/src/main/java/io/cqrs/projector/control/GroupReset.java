package io.cqrs.projector.control;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.cqrs.projector.StreamConsumer;
import io.cqrs.projector.audit.OperatorAudit;
import io.cqrs.stream.GroupStatus;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.StreamEntryId;
import io.cqrs.stream.StreamInspector;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.XReadArgs;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Moves the group's last delivered id ({@code XGROUP SETID}), so that its consumers read again from there (back: the
 * entries after the target are replayed) or skip ahead; first counts what that replays or skips, which a dry run only
 * reports. Replaying is harmless: the projection applies an event only when its version is newer than the stored one,
 * so a replayed entry is counted as stale and changes no row. A target beyond the stream's last id, or before its first
 * retained entry when entries before it were removed (trimmed), is refused unless the caller allows the gap.
 */
@Component
class GroupReset {

    private static final Logger log = LoggerFactory.getLogger(GroupReset.class);

    /** Entries per {@code XRANGE} when counting: at most about 26 MB of the largest entries in memory at once. */
    static final int PAGE = 200;

    /** Entries counted at most (5,000 pages); beyond, the count says it is a lower bound. */
    static final long MAX_COUNTED = 1_000_000;

    /**
     * What a reset did or would do.
     *
     * @param fromId the group's last delivered id before
     * @param toId its last delivered id after: the entries after it are delivered next
     * @param replays entries after the target up to the last delivered id, delivered again
     * @param skips entries after the last delivered id up to the target, never delivered (a reset ahead)
     * @param exact false when counting stopped at {@link #MAX_COUNTED}: the figures are lower bounds
     * @param countedBy {@code xinfo} (the stream's length less the group's lag, exact) or {@code xrange} (paged)
     */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    record Result(
            @JsonProperty("from_id") String fromId,
            @JsonProperty("to_id") String toId,
            long replays,
            long skips,
            @JsonProperty("counts_exact") boolean exact,
            @JsonProperty("counted_by") String countedBy,
            @JsonProperty("dry_run") boolean dryRun) {}

    private record Count(long entries, boolean exact) {}

    private final StreamConsumer consumer;
    private final LazyRedisConnection redis;
    private final OperatorAudit audit;

    GroupReset(StreamConsumer consumer, LazyRedisConnection redis, OperatorAudit audit) {
        this.consumer = consumer;
        this.redis = redis;
        this.audit = audit;
    }

    /** The id just before the first one a millisecond can hold: a reset there replays that millisecond on. */
    static StreamEntryId before(StreamEntryId id) {
        if (id.sequence() > 0) {
            return new StreamEntryId(id.millis(), id.sequence() - 1);
        }
        return id.millis() > 0 ? new StreamEntryId(id.millis() - 1, Long.MAX_VALUE) : id;
    }

    /**
     * Resets the group to {@code target} (or only counts, for a dry run).
     *
     * @param asked the request as the caller gave it, for the audit log
     */
    Result reset(StreamEntryId target, boolean dryRun, boolean allowGap, Map<String, ?> asked) {
        var me = consumer.status();
        String stream = me.stream();
        String group = me.group();
        Map<String, Object> info = streamInfo(stream);
        GroupStatus status = new StreamInspector(redis.sync())
                .inspect(stream)
                .group(group)
                .orElseThrow(() -> ControlProblem.conflict(
                        "no-group", "Stream " + stream + " has no consumer group " + group + " to reset", null));
        long length = ProjectorStatus.number(info.get("length"));
        StreamEntryId lastGenerated = StreamEntryId.parse(ProjectorStatus.text(info.get("last-generated-id")));
        Object added = info.get("entries-added");
        boolean removed = added == null || ProjectorStatus.number(added) > length;
        @Nullable StreamEntryId first = firstId(info.get("first-entry"));
        if (!allowGap) {
            refuseGaps(target, lastGenerated, removed, first);
        }
        StreamEntryId from = status.lastDeliveredId();
        long replays = 0;
        long skips = 0;
        boolean exact = true;
        String countedBy = "xrange";
        int order = target.compareTo(from);
        if (order < 0 && (first == null || target.compareTo(first) < 0) && status.unread() != null) {
            // Every retained entry up to the last delivered one lies after the target: the length less the unread ones.
            replays = length - (status.firstUnreadId() == null ? 0 : status.unread());
            countedBy = "xinfo";
        } else if (order < 0) {
            var count = count(stream, target, from);
            replays = count.entries();
            exact = count.exact();
        } else if (order > 0) {
            var count = count(stream, from, target);
            skips = count.entries();
            exact = count.exact();
        }
        var result = new Result(from.toString(), target.toString(), replays, skips, exact, countedBy, dryRun);
        if (dryRun) {
            return result;
        }
        return audit.run("projector.reset", asked, () -> {
            redis.sync().xgroupSetid(XReadArgs.StreamOffset.from(stream, target.toString()), group);
            log.warn(
                    "Consumer group {} of stream {} reset from {} to {}: {} entries replayed, {} skipped",
                    group,
                    stream,
                    from,
                    target,
                    result.replays(),
                    result.skips());
            return result;
        });
    }

    private static void refuseGaps(
            StreamEntryId target, StreamEntryId lastGenerated, boolean removed, @Nullable StreamEntryId first) {
        if (target.compareTo(lastGenerated) > 0) {
            throw ControlProblem.conflict(
                    "reset-beyond-stream",
                    "The target " + target + " lies beyond the stream's last id " + lastGenerated
                            + "; the group would skip entries not yet written. Send \"allow_gap\": true to reset there"
                            + " anyway",
                    "to_id");
        }
        // Entries were removed (trimmed) and some of them may lie between the target and the first retained one.
        StreamEntryId earliest = first == null ? lastGenerated : before(first);
        if (removed && target.compareTo(earliest) < 0) {
            throw ControlProblem.conflict(
                    "reset-gap",
                    "Entries before " + (first == null ? "the end of the stream" : "the first retained entry " + first)
                            + " were removed (trimmed), so those after " + target + " cannot all be replayed. The"
                            + " earliest gap-free target is " + earliest + "; send \"allow_gap\": true to reset to "
                            + target + " anyway",
                    "to_id");
        }
    }

    private Map<String, Object> streamInfo(String stream) {
        try {
            return ProjectorStatus.fields(redis.sync().xinfoStream(stream));
        } catch (RedisCommandExecutionException e) {
            if (String.valueOf(e.getMessage()).contains("no such key")) {
                throw ControlProblem.conflict("no-group", "Stream " + stream + " does not exist", null);
            }
            throw e;
        }
    }

    private static @Nullable StreamEntryId firstId(@Nullable Object firstEntry) {
        if (firstEntry instanceof List<?> entry && !entry.isEmpty()) {
            return StreamEntryId.parse(ProjectorStatus.text(entry.getFirst()));
        }
        return null;
    }

    /** Entries after {@code after} up to {@code upTo}, page by page, never more than {@link #PAGE} in memory. */
    private Count count(String stream, StreamEntryId after, StreamEntryId upTo) {
        long entries = 0;
        String lower = after.toString();
        var upper = Range.Boundary.including(upTo.toString());
        while (entries < MAX_COUNTED) {
            var page =
                    redis.sync().xrange(stream, Range.from(Range.Boundary.excluding(lower), upper), Limit.from(PAGE));
            entries += page.size();
            if (page.size() < PAGE) {
                return new Count(entries, true);
            }
            lower = page.getLast().getId();
        }
        return new Count(entries, false);
    }
}
