package io.cqrs.projector.control;

import io.cqrs.projector.audit.OperatorAudit;
import io.cqrs.stream.StreamEntryId;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;
import org.springframework.dao.DataAccessException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Component;

/**
 * {@code /actuator/projector} on the management port, for operators with an admin key: {@code GET} the status,
 * {@code GET /audit?limit=} the audit log, {@code POST /pause}, {@code /resume}, {@code /reset}, {@code /forget-dead}
 * with a JSON body. Only translates between HTTP and the calls: checks every field (a 400 problem naming it, nothing
 * done), and answers Redis or the read database being away with a 503 and {@code Retry-After}.
 *
 * <p>Actuator hands a JSON body's top-level fields to the operation's parameters by name (as strings), hence the
 * snake_case parameter names; the answers are {@link ResponseEntity}s so that problems carry their content type and
 * {@code Retry-After}.
 */
@Component
@Endpoint(id = "projector")
class ProjectorEndpoint {

    private static final Logger log = LoggerFactory.getLogger(ProjectorEndpoint.class);

    static final int DEFAULT_AUDIT_LIMIT = 20;
    static final int MAX_AUDIT_LIMIT = 500;

    private static final Pattern ENTRY_ID = Pattern.compile("\\d{1,19}(-\\d{1,19})?");
    private static final MediaType PROBLEM = MediaType.APPLICATION_PROBLEM_JSON;
    private static final String RETRY_AFTER_SECONDS = "5";

    private static final Map<String, Set<String>> FIELDS = Map.of(
            "pause", Set.of("scope"),
            "resume", Set.of("scope"),
            "reset", Set.of("to_id", "to_time", "dry_run", "allow_gap"),
            "forget-dead", Set.of("idle"));

    private final ProjectorControl control;
    private final GroupReset reset;
    private final DeadConsumers dead;
    private final OperatorAudit audit;

    ProjectorEndpoint(ProjectorControl control, GroupReset reset, DeadConsumers dead, OperatorAudit audit) {
        this.control = control;
        this.reset = reset;
        this.dead = dead;
        this.audit = audit;
    }

    @ReadOperation
    ResponseEntity<?> status() {
        return answer(control::status);
    }

    @ReadOperation
    ResponseEntity<?> view(@Selector String part, @Nullable String limit) {
        return answer(() -> {
            if (!part.equals("audit")) {
                throw ControlProblem.notFound("No view " + part + " of the projector; GET /actuator/projector or"
                        + " /actuator/projector/audit");
            }
            int entries = limit == null ? DEFAULT_AUDIT_LIMIT : number("limit", limit, 1, MAX_AUDIT_LIMIT);
            return Map.of("entries", audit.recent(entries));
        });
    }

    @WriteOperation
    ResponseEntity<?> act(
            @Selector String action,
            @Nullable String scope,
            @Nullable String to_id,
            @Nullable String to_time,
            @Nullable String dry_run,
            @Nullable String allow_gap,
            @Nullable String idle) {
        return answer(() -> {
            var given = new LinkedHashMap<String, @Nullable String>();
            given.put("scope", scope);
            given.put("to_id", to_id);
            given.put("to_time", to_time);
            given.put("dry_run", dry_run);
            given.put("allow_gap", allow_gap);
            given.put("idle", idle);
            var allowed = FIELDS.get(action);
            if (allowed == null) {
                throw ControlProblem.notFound("No operation " + action + " on the projector; POST to one of "
                        + new TreeSet<>(FIELDS.keySet()));
            }
            given.forEach((field, value) -> {
                if (value != null && !allowed.contains(field)) {
                    throw ControlProblem.invalid(
                            field,
                            field + " is not a field of " + action + "; its fields are " + new TreeSet<>(allowed));
                }
            });
            return switch (action) {
                case "pause" -> control.pause(scope(scope));
                case "resume" -> control.resume(scope(scope));
                case "reset" -> reset(to_id, to_time, dry_run, allow_gap);
                default -> Map.of("removed", dead.forget(idle(idle)));
            };
        });
    }

    private static ProjectorControl.Scope scope(@Nullable String scope) {
        return scope == null ? ProjectorControl.Scope.INSTANCE : ProjectorControl.Scope.parse("scope", scope);
    }

    private GroupReset.Result reset(
            @Nullable String toId, @Nullable String toTime, @Nullable String dryRun, @Nullable String allowGap) {
        if ((toId == null) == (toTime == null)) {
            throw ControlProblem.invalid(
                    toId == null ? "to_id" : "to_time",
                    "reset takes one target: \"to_id\" (a stream entry id, <ms>-<seq>) or \"to_time\" (ISO-8601 with"
                            + " offset)");
        }
        boolean dry = flag("dry_run", dryRun);
        boolean gap = flag("allow_gap", allowGap);
        var asked = new LinkedHashMap<String, Object>();
        StreamEntryId target;
        if (toId != null) {
            if (!ENTRY_ID.matcher(toId).matches()) {
                throw ControlProblem.invalid(
                        "to_id", "to_id must be a stream entry id, <ms>-<seq>, was \"" + toId + "\"");
            }
            target = parseId(toId);
            asked.put("to_id", toId);
        } else {
            target = GroupReset.before(new StreamEntryId(epochMillis(toTime), 0));
            asked.put("to_time", toTime);
        }
        asked.put("dry_run", dry);
        asked.put("allow_gap", gap);
        return reset.reset(target, dry, gap, asked);
    }

    private static StreamEntryId parseId(String id) {
        try {
            return StreamEntryId.parse(id);
        } catch (IllegalArgumentException e) {
            throw ControlProblem.invalid("to_id", "to_id is out of range: \"" + id + "\"");
        }
    }

    private static long epochMillis(String time) {
        try {
            long millis = OffsetDateTime.parse(time).toInstant().toEpochMilli();
            if (millis < 0) {
                throw ControlProblem.invalid("to_time", "to_time must not lie before 1970, was \"" + time + "\"");
            }
            return millis;
        } catch (DateTimeParseException | ArithmeticException e) {
            throw ControlProblem.invalid(
                    "to_time", "to_time must be ISO-8601 with an offset (2026-11-28T20:50:00Z), was \"" + time + "\"");
        }
    }

    private Duration idle(@Nullable String idle) {
        if (idle == null) {
            throw ControlProblem.invalid(
                    "idle",
                    "forget-dead needs \"idle\": how long a consumer must have been idle"
                            + " (ISO-8601 duration, PT10M)");
        }
        Duration duration;
        try {
            duration = Duration.parse(idle);
        } catch (DateTimeParseException e) {
            throw ControlProblem.invalid("idle", "idle must be an ISO-8601 duration (PT10M), was \"" + idle + "\"");
        }
        if (duration.compareTo(dead.leastIdle()) < 0) {
            throw ControlProblem.invalid(
                    "idle",
                    "idle must be at least " + dead.leastIdle() + " (a running consumer can be that long between two"
                            + " reads), was " + idle);
        }
        return duration;
    }

    private static boolean flag(String field, @Nullable String value) {
        if (value == null) {
            return false;
        }
        return switch (value) {
            case "true" -> true;
            case "false" -> false;
            default -> throw ControlProblem.invalid(field, field + " must be true or false, was \"" + value + "\"");
        };
    }

    private static int number(String field, String value, int least, int most) {
        try {
            int number = Integer.parseInt(value);
            if (number >= least && number <= most) {
                return number;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw ControlProblem.invalid(
                field, field + " must be a whole number from " + least + " to " + most + ", was \"" + value + "\"");
    }

    /** The call's result as 200, or the problem it ran into. */
    private static ResponseEntity<?> answer(Supplier<?> call) {
        try {
            return ResponseEntity.ok(call.get());
        } catch (ControlProblem e) {
            return problem(e.status(), e.type(), e.getMessage(), e.field());
        } catch (RedisCommandExecutionException e) {
            log.warn("Redis refused an operator call: {}", e.toString());
            return problem(HttpStatus.CONFLICT, "redis-refused", "Redis refused the call: " + e.getMessage(), null);
        } catch (RedisException e) {
            log.warn("Operator call failed, Redis cannot be reached: {}", e.toString());
            return unavailable("Redis cannot be reached. Try again later; the audit log"
                    + " (GET /actuator/projector/audit) says whether a call that changes something ran");
        } catch (DataAccessException e) {
            log.warn("Operator call failed, the read database cannot be reached: {}", e.toString());
            return unavailable("The read database (which holds the audit log) cannot be reached; nothing was done."
                    + " Try again later");
        } catch (RuntimeException e) {
            log.error("Operator call failed unexpectedly", e);
            return problem(HttpStatus.INTERNAL_SERVER_ERROR, "internal-error", "The call failed; see the log", null);
        }
    }

    private static ResponseEntity<?> unavailable(String detail) {
        var answer = problem(HttpStatus.SERVICE_UNAVAILABLE, "unavailable", detail, null);
        return ResponseEntity.status(answer.getStatusCode())
                .headers(answer.getHeaders())
                .header(HttpHeaders.RETRY_AFTER, RETRY_AFTER_SECONDS)
                .body(answer.getBody());
    }

    private static ResponseEntity<Map<String, Object>> problem(
            HttpStatus status, String type, @Nullable String detail, @Nullable String field) {
        var body = new LinkedHashMap<String, Object>();
        body.put("type", "urn:cqrs:problem:" + type);
        body.put("title", status.getReasonPhrase());
        body.put("status", status.value());
        body.put("detail", detail == null ? status.getReasonPhrase() : detail);
        if (field != null) {
            body.put("field", field);
        }
        body.put("success", false);
        return ResponseEntity.status(status).contentType(PROBLEM).body(body);
    }
}
