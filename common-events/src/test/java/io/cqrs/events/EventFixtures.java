package io.cqrs.events;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The contract fixtures: for each event type, one event and the exact stream fields it encodes to.
 *
 * <p>Shipped in the test-jar so that producer and consumer tests check themselves against the same maps. A fixture
 * file holds one {@code name=value} per line, split at the first {@code =}, in stream order.
 */
public final class EventFixtures {

    public static final RecordWritten WRITTEN = new RecordWritten(
            42,
            "user/42 naïve",
            "{\"name\": \"Ada\", \"note\": \"a=b\"}",
            3,
            2,
            Instant.parse("2026-11-21T09:30:15.123456Z"));

    public static final RecordDeleted DELETED =
            new RecordDeleted(43, "user/42 naïve", 4, 2, Instant.parse("2026-11-21T09:30:16.000001Z"));

    /** The trace context {@link #writtenTracedFields()} carries beside {@link #WRITTEN}. */
    public static final String TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    private EventFixtures() {}

    /** The stream fields of {@link #WRITTEN}. */
    public static Map<String, String> writtenFields() {
        return load("record-written.fields");
    }

    /** The stream fields of {@link #WRITTEN} written by a traced request: those of the untraced one, and {@link #TRACEPARENT}. */
    public static Map<String, String> writtenTracedFields() {
        return load("record-written-traced.fields");
    }

    /** The stream fields of {@link #DELETED}. */
    public static Map<String, String> deletedFields() {
        return load("record-deleted.fields");
    }

    private static Map<String, String> load(String name) {
        try (InputStream in = EventFixtures.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("fixture " + name + " is not on the class path");
            }
            var fields = new LinkedHashMap<String, String>();
            new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().forEach(line -> {
                int eq = line.indexOf('=');
                fields.put(line.substring(0, eq), line.substring(eq + 1));
            });
            return Collections.unmodifiableMap(fields);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
