package io.cqrs.read.health;

import io.cqrs.apikeys.Scope;
import io.cqrs.read.readcount.ReadCounter;
import io.cqrs.stream.GroupStatus;
import io.cqrs.stream.StreamStatus;
import io.cqrs.web.description.ApiKeyScope;
import io.cqrs.web.description.ProblemResponse;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.time.Instant;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /stats}: totals in O(1) from the maintained counters and Redis' {@code XINFO}. Stream figures are null
 * when Redis does not answer; the database figures are required (503 without them).
 */
@RestController
@Tag(name = "stats")
class StatsController {

    private static final Logger log = LoggerFactory.getLogger(StatsController.class);

    /** A flush commits between our two looks so rarely that a few tries always find a quiet moment. */
    private static final int CONSISTENT_READ_ATTEMPTS = 5;

    private final StatsRepository repository;
    private final ReadCounter counter;
    private final ProjectionProbe probe;

    StatsController(StatsRepository repository, ReadCounter counter, ProjectionProbe probe) {
        this.repository = repository;
        this.counter = counter;
        this.probe = probe;
    }

    @GetMapping("/stats")
    @Operation(
            summary = "Totals of the read model, the stream and the projection",
            description = "Maintained counters: O(1). The stream's figures are null while Redis does not answer.")
    @ApiKeyScope(Scope.READ)
    @ProblemResponse(
            status = 503,
            types = "read-db-unavailable",
            retryAfter = true,
            description = "The read database cannot be reached")
    Stats stats() {
        StatsRepository.Totals totals = totalsWithBufferedReads();
        StreamStatus status = null;
        Long published = null;
        try {
            status = probe.inspect();
            published = probe.eventsPublished();
        } catch (RuntimeException e) {
            log.debug("Stats without the stream: {}", e.getMessage());
        }
        Optional<GroupStatus> group = status == null ? Optional.empty() : status.group(probe.group());
        return new Stats(
                totals.records(),
                totals.totalReads(),
                totals.totalWrites(),
                published,
                totals.eventsApplied() + totals.eventsStale(),
                totals.eventsDeadLettered(),
                new StreamStats(
                        probe.stream(),
                        probe.group(),
                        status == null ? null : status.length(),
                        status == null ? null : group.map(GroupStatus::pending).orElse(0L),
                        status == null ? null : group.map(GroupStatus::unread).orElse(null)),
                new ProjectionStats(
                        status == null ? null : lagSeconds(status), totals.lastEventId(), totals.lastAppliedAt()));
    }

    private @Nullable Double lagSeconds(StreamStatus status) {
        try {
            return probe.lagSeconds(status);
        } catch (RuntimeException e) {
            return null;
        }
    }

    // total_reads = stored + counted in this instance but not yet flushed. Read both while no flush settles (the
    // counter's generation is even and unchanged), so that an in-flight batch is counted exactly once.
    private StatsRepository.Totals totalsWithBufferedReads() {
        for (int attempt = 1; ; attempt++) {
            long before = counter.generation();
            StatsRepository.Totals totals = repository.totals();
            long buffered = counter.unflushed();
            long after = counter.generation();
            if ((before == after && before % 2 == 0) || attempt == CONSISTENT_READ_ATTEMPTS) {
                return new StatsRepository.Totals(
                        totals.records(),
                        totals.totalWrites(),
                        totals.eventsApplied(),
                        totals.eventsStale(),
                        totals.eventsDeadLettered(),
                        totals.lastEventId(),
                        totals.lastAppliedAt(),
                        totals.totalReads() + buffered);
            }
        }
    }

    /**
     * @param eventsPublished entries ever added to the stream ({@code XINFO STREAM entries-added}), null without Redis
     * @param eventsProjected events the projector applied or found stale (already superseded)
     */
    record Stats(
            long records,
            long totalReads,
            long totalWrites,
            @Nullable Long eventsPublished,
            long eventsProjected,
            long eventsDeadLettered,
            StreamStats stream,
            ProjectionStats projection) {}

    /** @param groupLag entries not yet delivered to the group, as Redis counts them (null when it cannot tell) */
    record StreamStats(
            String name,
            String group,
            @Nullable Long length,
            @Nullable Long pending,
            @Nullable Long groupLag) {}

    record ProjectionStats(
            @Nullable Double lagSeconds,
            @Nullable String lastEventId,
            @Nullable Instant lastAppliedAt) {}
}
