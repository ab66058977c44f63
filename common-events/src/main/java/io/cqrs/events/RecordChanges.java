package io.cqrs.events;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The commit notifications the projector sends and the read service listens to: which keys reached which version.
 *
 * <p>The projector issues {@code NOTIFY} on {@link #CHANNEL} inside each batch transaction, so PostgreSQL delivers the
 * notices only if, and when, the batch commits. A payload is one line per changed key, {@code <version> <key>},
 * separated by {@code \n}; keys never hold control characters, so the first space ends the version and the line
 * feed ends the key. PostgreSQL caps a payload below 8000 bytes, so a large batch sends several.
 *
 * <p>A payload may start with a header line, {@code 0 \tsent <epoch microseconds>}: when the projector sent it, just
 * before its transaction commits, so that the read service can time the commit and the delivery. To a reader that
 * predates the header it is a change of a key that cannot exist (keys hold no control characters) to version 0, which
 * no cache entry or waiter is older than: ignored, so old and new readers and writers mix.
 */
public final class RecordChanges {

    /** The PostgreSQL notification channel. */
    public static final String CHANNEL = "cqrs_record_changes";

    /** Largest payload {@link #encode} produces, in UTF-8 bytes, safely under PostgreSQL's limit of 8000. */
    public static final int MAX_PAYLOAD_BYTES = 7900;

    /** One key that reached a version: its new value, or its tombstone. */
    public record Change(String key, long version) {}

    /**
     * What one payload says: the changes, and when the projector sent it (null when the payload has no header).
     *
     * @param sentAt the projector's clock right before its transaction committed
     */
    public record Notice(List<Change> changes, @Nullable Instant sentAt) {}

    private static final String SENT = "0 \tsent ";

    private RecordChanges() {}

    /** The payloads that announce {@code changes}, each at most {@link #MAX_PAYLOAD_BYTES} long. */
    public static List<String> encode(List<Change> changes) {
        return encode(changes, null);
    }

    /**
     * The payloads that announce {@code changes}, each starting with the header that says they were sent at
     * {@code sentAt} (none when null), each at most {@link #MAX_PAYLOAD_BYTES} long.
     */
    public static List<String> encode(List<Change> changes, @Nullable Instant sentAt) {
        var payloads = new ArrayList<String>();
        if (changes.isEmpty()) {
            return payloads;
        }
        String header = sentAt == null ? "" : SENT + ChronoUnit.MICROS.between(Instant.EPOCH, sentAt);
        var payload = new StringBuilder(header);
        int bytes = header.length() + 1;
        for (Change change : changes) {
            String line = change.version() + " " + change.key();
            int lineBytes = line.getBytes(StandardCharsets.UTF_8).length + 1;
            if (bytes + lineBytes > MAX_PAYLOAD_BYTES && payload.length() > header.length()) {
                payloads.add(payload.toString());
                payload.setLength(0);
                payload.append(header);
                bytes = header.length() + 1;
            }
            if (!payload.isEmpty()) {
                payload.append('\n');
            }
            payload.append(line);
            bytes += lineBytes;
        }
        payloads.add(payload.toString());
        return payloads;
    }

    /**
     * The changes one payload announces.
     *
     * @throws IllegalArgumentException if a line is not {@code <version> <key>}
     */
    public static List<Change> decode(String payload) {
        return read(payload).changes();
    }

    /**
     * The changes one payload announces, and when it was sent if it says so.
     *
     * @throws IllegalArgumentException if a line is not {@code <version> <key>}, or the header not a time
     */
    public static Notice read(String payload) {
        var changes = new ArrayList<Change>();
        Instant sentAt = null;
        for (String line : payload.split("\n")) {
            if (line.startsWith(SENT)) {
                try {
                    long micros = Long.parseLong(line.substring(SENT.length()));
                    sentAt = Instant.EPOCH.plus(micros, ChronoUnit.MICROS);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("not a '0 \\tsent <epoch micros>' header: " + line, e);
                }
                continue;
            }
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
        return new Notice(changes, sentAt);
    }
}
