package io.cqrs.projector.rebuild;

import io.cqrs.projector.audit.OperatorAudit;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.actuate.endpoint.annotation.DeleteOperation;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.util.MimeType;

/**
 * {@code /actuator/rebuild} on the management port (admin key): {@code GET} the running or latest rebuild,
 * {@code POST} {@code {"prefix"?, "from_key"?, "to_key"?, "keys_per_second"?}} to start one (202), {@code DELETE} to
 * cancel it. Starting and cancelling are audited. A bad body is a 400, a rebuild already running a 409, the write
 * database down a 503, each {@code application/problem+json} naming what is wrong, and none changes anything.
 */
@Component
@Endpoint(id = RebuildEndpoint.ID)
class RebuildEndpoint {

    static final String ID = "rebuild";

    static final MimeType PROBLEM = MimeType.valueOf("application/problem+json");
    static final int RETRY_AFTER_SECONDS = 5;
    static final String PROBLEM_TYPES = "urn:cqrs:problem:";
    static final String UNAVAILABLE = "write-database-unavailable";
    private static final int MAX_KEY_LENGTH = 255;

    private final Rebuilds rebuilds;
    private final OperatorAudit audit;
    private final JdbcClient jdbc;

    RebuildEndpoint(Rebuilds rebuilds, OperatorAudit audit, JdbcClient jdbc) {
        this.rebuilds = rebuilds;
        this.audit = audit;
        this.jdbc = jdbc;
    }

    @ReadOperation
    WebEndpointResponse<RebuildStatus> status() {
        return new WebEndpointResponse<>(rebuilds.status());
    }

    @WriteOperation
    WebEndpointResponse<Object> start(
            @Nullable Object prefix,
            @Nullable Object from_key,
            @Nullable Object to_key,
            @Nullable Object keys_per_second) {
        Scope scope;
        Integer rate;
        try {
            scope = new Scope(key("from_key", from_key), key("to_key", to_key), key("prefix", prefix));
            rate = rate(keys_per_second);
            if (scope.fromKey() != null && scope.toKey() != null && !ordered(scope.fromKey(), scope.toKey())) {
                throw new BadField(
                        "to_key", "to_key must come after from_key (from_key is inclusive, to_key exclusive)");
            }
        } catch (BadField e) {
            return problem(400, "invalid-rebuild", "Bad Request", e.getMessage(), Map.of("field", e.field));
        }
        var asked = new LinkedHashMap<String, Object>(scope.asMap());
        if (rate != null) {
            asked.put("keys_per_second", rate);
        }
        try {
            Integer keysPerSecond = rate;
            return new WebEndpointResponse<>(
                    audit.run("rebuild.start", asked, () -> rebuilds.start(scope, keysPerSecond)), 202);
        } catch (RebuildRefused e) {
            return refused(e);
        }
    }

    @DeleteOperation
    WebEndpointResponse<Object> cancel() {
        try {
            return new WebEndpointResponse<>(audit.run("rebuild.cancel", Map.of(), rebuilds::cancel));
        } catch (RebuildRefused e) {
            return refused(e);
        }
    }

    private static WebEndpointResponse<Object> refused(RebuildRefused refusal) {
        return switch (refusal) {
            case RebuildRefused.Conflict conflict ->
                problem(409, "rebuild-conflict", "Conflict", conflict.getMessage(), Map.of());
            case RebuildRefused.WriteDatabaseDown down ->
                problem(
                        503,
                        UNAVAILABLE,
                        "Service Unavailable",
                        down.getMessage(),
                        Map.of("retry_after_seconds", RETRY_AFTER_SECONDS));
        };
    }

    static WebEndpointResponse<Object> problem(
            int status, String type, String title, String detail, Map<String, Object> more) {
        var body = new LinkedHashMap<String, Object>();
        body.put("type", PROBLEM_TYPES + type);
        body.put("title", title);
        body.put("status", status);
        body.put("detail", detail);
        body.put("success", false);
        body.putAll(more);
        return new WebEndpointResponse<>(body, status, PROBLEM);
    }

    private static @Nullable String key(String field, @Nullable Object value) {
        if (value == null) {
            return null;
        }
        if (!(value instanceof String text)) {
            throw new BadField(field, field + " must be a string");
        }
        if (text.isEmpty() || text.length() > MAX_KEY_LENGTH) {
            throw new BadField(field, field + " must be 1 to " + MAX_KEY_LENGTH + " characters long");
        }
        if (text.chars().anyMatch(Character::isISOControl)) {
            throw new BadField(field, field + " must not contain control characters");
        }
        return text;
    }

    // The actuator hands body values over as text: a whole number arrives as its digits.
    private static @Nullable Integer rate(@Nullable Object value) {
        if (value == null) {
            return null;
        }
        String text = value.toString();
        long rate = text.matches("[0-9]{1,9}") ? Long.parseLong(text) : 0;
        if (rate < 1 || rate > RebuildProperties.MAX_KEYS_PER_SECOND) {
            throw new BadField(
                    "keys_per_second",
                    "keys_per_second must be a whole number from 1 to " + RebuildProperties.MAX_KEYS_PER_SECOND);
        }
        return (int) rate;
    }

    // In the database's order (its collation), as every scope test is made.
    private boolean ordered(String from, String to) {
        return Boolean.TRUE.equals(jdbc.sql("select ?::text < ?::text")
                .params(from, to)
                .query(Boolean.class)
                .single());
    }

    private static final class BadField extends RuntimeException {
        private final String field;

        BadField(String field, String message) {
            super(message, null, false, false);
            this.field = field;
        }
    }
}
