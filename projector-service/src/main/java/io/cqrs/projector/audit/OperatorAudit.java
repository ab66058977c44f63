package io.cqrs.projector.audit;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs an operator's mutating call audited: a row in {@code operator_audit} of the read database and a log line before
 * it runs (who, what, with which parameters), completed with the outcome and a short result after it. When the row
 * cannot be written the operation does not run: the caller gets the database's failure, nothing happens unaudited. A
 * failure to complete the row after the operation is logged, never hidden behind the operation's own result. Each
 * operation that ran is counted, {@code cqrs_operator_actions_total{operation, outcome=succeeded|failed}}.
 */
@Component
public class OperatorAudit {

    private static final Logger log = LoggerFactory.getLogger(OperatorAudit.class);

    // The result kept per call: enough for a count or an id range, never a whole listing.
    private static final int MAX_RESULT_CHARS = 2000;

    private final JdbcClient jdbc;
    private final JsonMapper json;
    private final MeterRegistry meters;

    OperatorAudit(JdbcClient jdbc, JsonMapper json, MeterRegistry meters) {
        this.jdbc = jdbc;
        this.json = json;
        this.meters = meters;
    }

    /** One audited call, as {@code operator_audit} holds it. */
    public record Entry(
            long id,
            @JsonProperty("started_at") String startedAt,
            @JsonProperty("key_name") String keyName,
            String operation,
            String parameters,
            String outcome,
            @Nullable String result,
            @JsonProperty("finished_at") @Nullable String finishedAt) {}

    /**
     * Runs {@code action} audited as {@code operation} with {@code parameters} (values as the caller gave them, after
     * validation) and returns its result, whose {@code toString()} is kept as the audit row's result.
     */
    public <T> T run(String operation, Map<String, ?> parameters, Supplier<T> action) {
        String who = caller();
        String asked = json.writeValueAsString(parameters);
        long id = jdbc.sql("insert into operator_audit (key_name, operation, parameters) values (?, ?, ?::jsonb)"
                        + " returning id")
                .params(who, operation, asked)
                .query(Long.class)
                .single();
        log.info("Audit #{}: {} asked {} {}", id, who, operation, asked);
        T result;
        try {
            result = action.get();
        } catch (RuntimeException | Error e) {
            count(operation, "failed");
            finish(id, who, operation, "failed", e.toString());
            throw e;
        }
        count(operation, "succeeded");
        finish(id, who, operation, "succeeded", String.valueOf(result));
        return result;
    }

    /** The newest audited calls first, at most {@code limit}. */
    public List<Entry> recent(int limit) {
        return jdbc.sql("""
                        select id, started_at::text, key_name, operation, parameters::text, outcome, result,
                               finished_at::text
                          from operator_audit order by id desc limit ?
                        """)
                .param(limit)
                .query((rs, row) -> new Entry(
                        rs.getLong(1),
                        rs.getString(2),
                        rs.getString(3),
                        rs.getString(4),
                        rs.getString(5),
                        rs.getString(6),
                        rs.getString(7),
                        rs.getString(8)))
                .list();
    }

    // Few values: operation names are the endpoints' own constants, never the caller's input.
    private void count(String operation, String outcome) {
        Counter.builder("cqrs.operator.actions")
                .description("Operator calls that ran, audited, by operation and outcome")
                .tag("operation", operation)
                .tag("outcome", outcome)
                .register(meters)
                .increment();
    }

    private void finish(long id, String who, String operation, String outcome, String result) {
        String kept = result.length() > MAX_RESULT_CHARS ? result.substring(0, MAX_RESULT_CHARS) + "…" : result;
        log.info("Audit #{}: {} {} {}: {}", id, who, operation, outcome, kept);
        try {
            jdbc.sql("update operator_audit set outcome = ?, result = ?, finished_at = now() where id = ?")
                    .params(outcome, kept, id)
                    .update();
        } catch (RuntimeException e) {
            log.error("Audit #{}: could not record the outcome ({}): {}", id, outcome, e.toString());
        }
    }

    // The API key's name; the security rules let only authenticated admin keys reach an audited operation.
    private static String caller() {
        var authentication = SecurityContextHolder.getContext().getAuthentication();
        return authentication == null || authentication.getName().isEmpty() ? "unknown" : authentication.getName();
    }
}
