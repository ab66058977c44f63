package io.cqrs.write.command;

import io.cqrs.apikeys.Scope;
import io.cqrs.web.description.ApiKeyScope;
import io.cqrs.web.description.ProblemResponse;
import io.cqrs.write.outbox.OutboxBacklog;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.tags.Tag;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** GET /stats: exact command totals (maintained counters, O(1)) and the outbox backlog. */
@RestController
@Tag(name = "stats")
class StatsController {

    private final JdbcClient jdbc;
    private final OutboxBacklog backlog;

    StatsController(JdbcClient jdbc, OutboxBacklog backlog) {
        this.jdbc = jdbc;
        this.backlog = backlog;
    }

    @GetMapping("/stats")
    @Operation(summary = "Command totals and the outbox backlog", description = "Maintained counters: O(1).")
    @ApiKeyScope(Scope.READ)
    @ProblemResponse(
            status = 503,
            types = ApiErrors.UNAVAILABLE,
            retryAfter = true,
            description = "The write database cannot be reached")
    WriteStats stats() {
        var outbox = backlog.current();
        return jdbc.sql(
                        "select sum(commands) as commands, sum(writes) as writes, sum(deletes) as deletes from write_totals")
                .query((rs, row) -> new WriteStats(
                        true,
                        rs.getLong("commands"),
                        rs.getLong("writes"),
                        rs.getLong("deletes"),
                        outbox.rows(),
                        outbox.oldestAgeSeconds()))
                .single();
    }

    /** Field names on the wire are snake_case: {@code outbox_backlog}, {@code outbox_oldest_age_seconds}. */
    record WriteStats(
            boolean success,
            long commands,
            long writes,
            long deletes,
            long outboxBacklog,
            double outboxOldestAgeSeconds) {}
}
