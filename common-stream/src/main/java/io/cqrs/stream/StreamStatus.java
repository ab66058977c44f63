package io.cqrs.stream;

import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The stream and its consumer groups at one moment, with Redis' own clock so that lag does not depend on ours.
 *
 * @param exists false when the stream key is missing (never written, or lost with Redis' data)
 */
public record StreamStatus(
        String stream,
        boolean exists,
        long length,
        @Nullable StreamEntryId lastEntryId,
        List<GroupStatus> groups,
        long nowMillis) {

    public StreamStatus {
        groups = List.copyOf(groups);
    }

    public Optional<GroupStatus> group(String name) {
        return groups.stream().filter(g -> g.name().equals(name)).findFirst();
    }

    /** Lag of the named group in seconds, or 0 when the group does not exist (nothing to project into it yet). */
    public double lagSeconds(String group) {
        return group(group).map(g -> g.lagSeconds(nowMillis)).orElse(0.0);
    }

    /**
     * The {@code MINID} below which every group has finished, so entries under it can be trimmed without loss; empty
     * when there is no group, since then nobody has read anything and nothing may go.
     */
    public Optional<StreamEntryId> safeTrimId() {
        return groups.stream().map(GroupStatus::keepFrom).min(StreamEntryId::compareTo);
    }

    /** The group that holds trimming back the most, the one to warn about when the stream grows. */
    public Optional<GroupStatus> slowestGroup() {
        return groups.stream().min((a, b) -> a.keepFrom().compareTo(b.keepFrom()));
    }
}
