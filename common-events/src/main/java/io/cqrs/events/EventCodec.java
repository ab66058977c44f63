package io.cqrs.events;

import io.cqrs.events.MalformedEventException.Problem;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Converts events to and from the flat string fields of a stream entry; the only place that spells the field names.
 *
 * <p>Decoding is strict about the fields it needs and tolerant of fields it does not know, so that adding a field
 * stays a compatible change; a higher schema number or an unknown type is rejected.
 */
public final class EventCodec {

    /** The schema this codec writes and the highest it reads. */
    public static final int SCHEMA = 1;

    public static final String TYPE_WRITTEN = "record.written";
    public static final String TYPE_DELETED = "record.deleted";

    private static final String TYPE = "type";
    private static final String SCHEMA_FIELD = "schema";
    private static final String COMMAND_ID = "command_id";
    private static final String KEY = "key";
    private static final String VALUE = "value";
    private static final String VERSION = "version";
    private static final String WRITE_COUNT = "write_count";
    private static final String OCCURRED_AT = "occurred_at";
    private static final String TRACEPARENT = "traceparent";

    private EventCodec() {}

    /** The stream fields of {@code event}, in the order a person reading {@code XRANGE} expects. */
    public static Map<String, String> encode(RecordEvent event) {
        return encode(event, null);
    }

    /**
     * The stream fields of {@code event}, and the trace context of the request that made it when one was traced: an
     * optional field that consumers which predate it ignore, and that carries no part of the event itself.
     *
     * @param traceparent a W3C {@code traceparent} ({@code 00-<trace id>-<span id>-<flags>}), or null for none
     */
    public static Map<String, String> encode(RecordEvent event, @Nullable String traceparent) {
        var fields = new LinkedHashMap<String, String>();
        fields.put(TYPE, type(event));
        fields.put(SCHEMA_FIELD, Integer.toString(SCHEMA));
        fields.put(COMMAND_ID, Long.toString(event.commandId()));
        fields.put(KEY, event.key());
        if (event instanceof RecordWritten written) {
            fields.put(VALUE, written.value());
        }
        fields.put(VERSION, Long.toString(event.version()));
        fields.put(WRITE_COUNT, Long.toString(event.writeCount()));
        fields.put(OCCURRED_AT, UtcTimestamp.format(event.occurredAt()));
        if (traceparent != null) {
            fields.put(TRACEPARENT, traceparent);
        }
        return fields;
    }

    /** The {@code type} field of {@code event}: {@link #TYPE_WRITTEN} or {@link #TYPE_DELETED}. */
    public static String type(RecordEvent event) {
        return switch (event) {
            case RecordWritten w -> TYPE_WRITTEN;
            case RecordDeleted d -> TYPE_DELETED;
        };
    }

    /**
     * The W3C {@code traceparent} an entry carries, or null when it has none (written untraced, or before the field
     * existed) or one that is not well formed: a trace context is a hint, never a reason to reject an event.
     */
    public static @Nullable String traceparent(Map<String, String> fields) {
        String value = fields.get(TRACEPARENT);
        return value != null && isTraceparent(value) ? value : null;
    }

    // Version 00 of https://www.w3.org/TR/trace-context/#traceparent-header: 00-<32 hex>-<16 hex>-<2 hex>, lower case.
    static boolean isTraceparent(String value) {
        if (value.length() != 55
                || value.charAt(0) != '0'
                || value.charAt(1) != '0'
                || value.charAt(2) != '-'
                || value.charAt(35) != '-'
                || value.charAt(52) != '-') {
            return false;
        }
        for (int i = 3; i < 55; i++) {
            char c = value.charAt(i);
            if (i != 35 && i != 52 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }

    /**
     * The event held by {@code fields}.
     *
     * @throws MalformedEventException if a field is missing or malformed, or the schema or type is unknown
     */
    public static RecordEvent decode(Map<String, String> fields) {
        return decode(fields, SCHEMA);
    }

    /**
     * The event held by {@code fields}, read by a consumer that reads schemas up to {@code highestSchema} only: how a
     * test plays a consumer that predates the current schema (one that reads up to {@code SCHEMA - 1}). No consumer can
     * read more than this codec knows.
     *
     * @throws IllegalArgumentException if {@code highestSchema} is negative or above {@link #SCHEMA}
     * @throws MalformedEventException if a field is missing or malformed, or the schema or type is unknown
     */
    public static RecordEvent decode(Map<String, String> fields, int highestSchema) {
        if (highestSchema < 0 || highestSchema > SCHEMA) {
            throw new IllegalArgumentException(
                    "a consumer reads schemas up to 0.." + SCHEMA + ", not " + highestSchema);
        }
        long schema = number(fields, SCHEMA_FIELD);
        if (schema < 1 || schema > highestSchema) {
            throw new MalformedEventException(
                    Problem.UNKNOWN_SCHEMA,
                    SCHEMA_FIELD,
                    "unknown schema " + schema + ", this consumer reads schema 1 to " + highestSchema);
        }
        String type = text(fields, TYPE);
        long commandId = number(fields, COMMAND_ID);
        String key = text(fields, KEY);
        long version = number(fields, VERSION);
        long writeCount = number(fields, WRITE_COUNT);
        Instant occurredAt = timestamp(fields, OCCURRED_AT);
        try {
            return switch (type) {
                case TYPE_WRITTEN ->
                    new RecordWritten(commandId, key, text(fields, VALUE), version, writeCount, occurredAt);
                case TYPE_DELETED -> new RecordDeleted(commandId, key, version, writeCount, occurredAt);
                default ->
                    throw new MalformedEventException(
                            Problem.UNKNOWN_TYPE,
                            TYPE,
                            "unknown event type '" + type + "', expected " + TYPE_WRITTEN + " or " + TYPE_DELETED);
            };
        } catch (IllegalArgumentException e) {
            throw new MalformedEventException(Problem.BAD_VALUE, null, e.getMessage());
        }
    }

    private static String text(Map<String, String> fields, String name) {
        String value = fields.get(name);
        if (value == null) {
            throw new MalformedEventException(Problem.MISSING_FIELD, name, "missing field '" + name + "'");
        }
        return value;
    }

    private static long number(Map<String, String> fields, String name) {
        String value = text(fields, name);
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new MalformedEventException(
                    Problem.BAD_NUMBER,
                    name,
                    "field '" + name + "' is not a whole number: '" + abbreviate(value) + "'");
        }
    }

    private static Instant timestamp(Map<String, String> fields, String name) {
        String value = text(fields, name);
        try {
            return UtcTimestamp.parse(value);
        } catch (DateTimeParseException e) {
            throw new MalformedEventException(
                    Problem.BAD_TIMESTAMP,
                    name,
                    "field '" + name + "' is not an ISO-8601 UTC timestamp: '" + abbreviate(value) + "'");
        }
    }

    // Reasons end up in logs and dead-letter entries: never copy a whole (possibly huge) payload into them.
    private static String abbreviate(String value) {
        return value.length() <= 40 ? value : value.substring(0, 40) + "...";
    }
}
