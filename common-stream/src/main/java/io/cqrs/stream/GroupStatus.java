package io.cqrs.stream;

import org.jspecify.annotations.Nullable;

/**
 * One consumer group of the stream, as {@code XINFO GROUPS}, {@code XPENDING} and {@code XRANGE} show it.
 *
 * @param unread entries not yet delivered to the group, as Redis counts them ({@code lag}); null when Redis cannot
 *     tell (after deletions or trimming), in which case {@link #firstUnreadId} still says whether any exist
 * @param oldestPendingId the oldest entry delivered but not acknowledged, or null
 * @param firstUnreadId the first entry after {@code lastDeliveredId}, or null when the group has read everything
 */
public record GroupStatus(
        String name,
        long consumers,
        long pending,
        @Nullable Long unread,
        StreamEntryId lastDeliveredId,
        @Nullable StreamEntryId oldestPendingId,
        @Nullable StreamEntryId firstUnreadId) {

    /** The oldest entry this group has not finished with, or null when it has finished with every entry. */
    public @Nullable StreamEntryId oldestUnprojectedId() {
        return StreamEntryId.min(oldestPendingId, firstUnreadId);
    }

    /**
     * How far behind the group is, in time: zero when nothing is pending and nothing unread, otherwise {@code now}
     * minus the time of the oldest entry not yet projected. A quiet group is not lagging; a stalled one keeps growing.
     */
    public double lagSeconds(long nowMillis) {
        StreamEntryId oldest = oldestUnprojectedId();
        return oldest == null ? 0 : Math.max(0, nowMillis - oldest.millis()) / 1000.0;
    }

    /** The smallest id the stream must keep for this group: its oldest unfinished entry, or what comes after all. */
    StreamEntryId keepFrom() {
        StreamEntryId oldest = oldestUnprojectedId();
        return oldest != null ? oldest : lastDeliveredId.next();
    }
}
