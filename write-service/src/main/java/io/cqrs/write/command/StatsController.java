package io.cqrs.write.command;

import io.cqrs.write.outbox.OutboxBacklog;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** GET /stats: exact command totals (maintained counters, O(1)) and the outbox backlog. */
@RestController
class StatsController {

    private final JdbcClient jdbc;
    private final OutboxBacklog backlog;

    StatsController(JdbcClient jdbc, OutboxBacklog backlog) {
        this.jdbc = jdbc;
        this.backlog = backlog;
    }

    @GetMapping("/stats")
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
