package io.cqrs.events;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The commit notifications the projector sends and the read service listens to: which keys reached which version.
 *
 * <p>The projector issues {@code NOTIFY} on {@link #CHANNEL} inside each batch transaction, so PostgreSQL delivers the
 * notices only if, and when, the batch commits. A payload is one line per changed key, {@code <version> <key>},
 * separated by {@code \n}; keys never hold control characters, so the first space ends the version and the line
 * feed ends the key. PostgreSQL caps a payload below 8000 bytes, so a large batch sends several.
 */
public final class RecordChanges {

    /** The PostgreSQL notification channel. */
    public static final String CHANNEL = "cqrs_record_changes";

    /** Largest payload {@link #encode} produces, in UTF-8 bytes, safely under PostgreSQL's limit of 8000. */
    public static final int MAX_PAYLOAD_BYTES = 7900;

    /** One key that reached a version: its new value, or its tombstone. */
    public record Change(String key, long version) {}

    private RecordChanges() {}

    /** The payloads that announce {@code changes}, each at most {@link #MAX_PAYLOAD_BYTES} long. */
    public static List<String> encode(List<Change> changes) {
        var payloads = new ArrayList<String>();
        var payload = new StringBuilder();
        int bytes = 0;
        for (Change change : changes) {
            String line = change.version() + " " + change.key();
            int lineBytes = line.getBytes(StandardCharsets.UTF_8).length + 1;
            if (bytes + lineBytes > MAX_PAYLOAD_BYTES && !payload.isEmpty()) {
                payloads.add(payload.toString());
                payload.setLength(0);
                bytes = 0;
            }
            if (!payload.isEmpty()) {
                payload.append('\n');
            }
            payload.append(line);
            bytes += lineBytes;
        }
        if (!payload.isEmpty()) {
            payloads.add(payload.toString());
        }
        return payloads;
    }

    /**
     * The changes one payload announces.
     *
     * @throws IllegalArgumentException if a line is not {@code <version> <key>}
     */
    public static List<Change> decode(String payload) {
        var changes = new ArrayList<Change>();
        for (String line : payload.split("\n")) {
            int space = line.indexOf(' ');
            if (space < 1 || space == line.length() - 1) {
                throw new IllegalArgumentException("not a '<version> <key>' line: " + line);
            }
            try {
                changes.add(new Change(line.substring(space + 1), Long.parseLong(line.substring(0, space))));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not a '<version> <key>' line: " + line, e);
            }
        }
        return changes;
    }
}
