package io.cqrs.projector.deadletters;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.cqrs.projector.audit.OperatorAudit;
import io.cqrs.stream.StreamEntryId;
import io.lettuce.core.RedisException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;
import org.springframework.boot.actuate.endpoint.web.annotation.WebEndpoint;
import org.springframework.dao.DataAccessException;
import org.springframework.stereotype.Component;

/**
 * {@code /actuator/deadletters} on the management port, admin keys only: lists the dead letters (oldest first), counts
 * them by reason, and moves them back to the stream (redrive) or deletes them (purge), each change audited. Parameters
 * are named as the JSON fields and query parameters they come from, and taken as text, so that every malformed one is
 * answered by a 400 problem that names it.
 */
@Component
@WebEndpoint(id = "deadletters")
class DeadLetterEndpoint {

    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 1000;

    private static final Set<String> REDRIVE = Set.of("id", "range", "reason", "all");
    private static final Set<String> PURGE = Set.of("id", "range", "reason", "older_than", "all");

    private final DeadLetterStream deadLetters;
    private final OperatorAudit audit;

    DeadLetterEndpoint(DeadLetterStream deadLetters, OperatorAudit audit) {
        this.deadLetters = deadLetters;
        this.audit = audit;
    }

    record Listing(
            String stream,
            long total,
            @JsonProperty("oldest_age_seconds") double oldestAgeSeconds,
            List<Entry> entries,

            @JsonInclude(JsonInclude.Include.ALWAYS) @Nullable
            String next) {}

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Entry(
            String id,
            @JsonProperty("original_id") String originalId,
            String reason,
            String problem,

            @JsonInclude(JsonInclude.Include.ALWAYS) @Nullable
            Long deliveries,

            @JsonProperty("dead_lettered_at") String deadLetteredAt,
            String type,
            String key,
            @Nullable Map<String, String> fields,
            @Nullable Boolean truncated) {

        static Entry of(DeadLetterStream.Summary summary) {
            return new Entry(
                    summary.id(),
                    summary.originalId(),
                    summary.reason(),
                    summary.problem(),
                    summary.deliveries(),
                    Instant.ofEpochMilli(StreamEntryId.millisOf(summary.id())).toString(),
                    summary.type(),
                    summary.key(),
                    summary.fields(),
                    summary.truncated() ? Boolean.TRUE : null);
        }
    }

    record Reasons(long total, Map<String, Long> reasons, long counted, boolean exact) {}

    record Redriven(
            long redriven, @JsonProperty("first_ids") List<String> firstIds) {}

    record Purged(long purged) {}

    /**
     * {@code GET /actuator/deadletters?limit=&after=&reason=&with_fields=}: a page of dead letters, oldest first,
     * starting after the id {@code after}; {@code next} is where the following page starts, null at the end.
     */
    @ReadOperation
    Listing list(
            @Nullable String limit,
            @Nullable String after,
            @Nullable String reason,
            @Nullable String with_fields) { // named as the query parameter
        int count = limit(limit);
        String from = after == null ? null : Selection.fullId("after", after);
        String problem = reason == null ? null : Selection.reason(reason);
        boolean withFields = flag("with_fields", with_fields);
        return redis(Map.of(), () -> {
            var page = deadLetters.list(from, count, problem, withFields);
            long total = deadLetters.depth();
            double age = deadLetters
                    .oldest()
                    .map(oldest -> Math.max(0, deadLetters.nowMillis() - oldest.millis()) / 1000.0)
                    .orElse(0.0);
            return new Listing(
                    deadLetters.name(),
                    total,
                    age,
                    page.entries().stream().map(Entry::of).toList(),
                    page.next());
        });
    }

    /** {@code GET /actuator/deadletters/reasons}: how many dead letters there are for each reason. */
    @ReadOperation
    Reasons reasons(@Selector String view) {
        if (!view.equals("reasons")) {
            throw DeadLetterProblem.notFound(
                    "No dead-letter view '" + view + "'; there is /actuator/deadletters/reasons");
        }
        return redis(Map.of(), () -> {
            var reasons = deadLetters.reasons();
            return new Reasons(reasons.total(), reasons.reasons(), reasons.counted(), reasons.exact());
        });
    }

    /**
     * {@code POST /actuator/deadletters/redrive} or {@code /purge} with one selector in the body: {@code id},
     * {@code from} and {@code to}, {@code reason}, {@code older_than} (purge only), or {@code "all": true}.
     */
    @WriteOperation
    Object change(
            @Selector String action,
            @Nullable String id,
            @Nullable String from,
            @Nullable String to,
            @Nullable String reason,
            @Nullable String older_than, // named as the JSON field
            @Nullable String all) {
        var fields = new LinkedHashMap<String, @Nullable String>();
        fields.put("id", id);
        fields.put("from", from);
        fields.put("to", to);
        fields.put("reason", reason);
        fields.put("older_than", older_than);
        fields.put("all", all);
        return switch (action) {
            case "redrive" -> {
                Selection selection = Selection.parse(fields, REDRIVE);
                var done = audited("deadletters.redrive", selection, "redriven", () -> deadLetters.redrive(selection));
                yield new Redriven(done.redriven(), done.firstIds());
            }
            case "purge" -> {
                Selection selection = Selection.parse(fields, PURGE);
                long purged = audited("deadletters.purge", selection, "purged", () -> deadLetters.purge(selection));
                yield new Purged(purged);
            }
            default ->
                throw DeadLetterProblem.notFound(
                        "No dead-letter operation '" + action + "'; there are redrive and purge");
        };
    }

    private <T> T audited(String operation, Selection selection, String what, Supplier<T> action) {
        try {
            return audit.run(operation, selection.parameters(), action);
        } catch (DeadLetterStream.StoppedEarly e) {
            throw DeadLetterProblem.unavailable(
                    "redis",
                    "Redis failed part-way: " + e.done() + " entries were " + what + " before it did (each page of "
                            + DeadLetterStream.PAGE + " is all or nothing); the call is safe to repeat",
                    Map.of(what, e.done()),
                    e.getCause());
        } catch (DataAccessException e) {
            throw DeadLetterProblem.unavailable(
                    "read_db",
                    "The audit log in the read database cannot be written, so nothing was done",
                    Map.of(),
                    e);
        }
    }

    private static <T> T redis(Map<String, Object> done, Supplier<T> action) {
        try {
            return action.get();
        } catch (RedisException e) {
            throw DeadLetterProblem.unavailable("redis", "Redis cannot be reached; try again shortly", done, e);
        }
    }

    private static int limit(@Nullable String limit) {
        if (limit == null) {
            return DEFAULT_LIMIT;
        }
        try {
            int value = Integer.parseInt(limit);
            if (value >= 1 && value <= MAX_LIMIT) {
                return value;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw DeadLetterProblem.badRequest(
                "limit", "'limit' must be a whole number from 1 to " + MAX_LIMIT + ", was " + Selection.quoted(limit));
    }

    private static boolean flag(String name, @Nullable String value) {
        if (value == null || value.equals("false")) {
            return false;
        }
        if (value.equals("true")) {
            return true;
        }
        throw DeadLetterProblem.badRequest(
                name, "'" + name + "' must be true or false, was " + Selection.quoted(value));
    }
}
