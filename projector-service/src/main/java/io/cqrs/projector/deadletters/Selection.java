package io.cqrs.projector.deadletters;

import io.cqrs.stream.StreamEntryId;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.convert.DurationStyle;

/**
 * Which dead letters a redrive or purge is about: exactly one of an id, a range of ids, a reason ({@code dlq_problem}),
 * an age, or all of them. Parsed from the request's fields, each checked, so that a bad request changes nothing.
 */
sealed interface Selection {

    /** A full stream id, {@code <milliseconds>-<sequence>}. */
    Pattern FULL_ID = Pattern.compile("\\d{1,19}-\\d{1,19}");

    /** A range bound: a full id, or milliseconds alone (from: the first id of that millisecond; to: the last). */
    Pattern BOUND = Pattern.compile("\\d{1,19}(-\\d{1,19})?");

    /** A reason as {@code dlq_problem} holds it ({@code UNKNOWN_SCHEMA}, {@code APPLY_FAILED}, ...). */
    Pattern REASON = Pattern.compile("[A-Za-z0-9_.:-]{1,64}");

    /** The fields as the operator sent them, for the audit log. */
    Map<String, String> parameters();

    /** One entry. */
    record One(String id) implements Selection {
        @Override
        public Map<String, String> parameters() {
            return Map.of("id", id);
        }
    }

    /**
     * The entries from {@code from} to {@code to}, both included, as Redis reads such bounds in {@code XRANGE}.
     *
     * @param last the highest id {@code to} stands for, to compare with
     */
    record Between(String from, String to, StreamEntryId first, StreamEntryId last) implements Selection {
        @Override
        public Map<String, String> parameters() {
            return Map.of("from", from, "to", to);
        }
    }

    /** The entries dead-lettered for this reason. */
    record Reason(String problem) implements Selection {
        @Override
        public Map<String, String> parameters() {
            return Map.of("reason", problem);
        }
    }

    /** The entries dead-lettered longer ago than {@code age}. */
    record OlderThan(String given, Duration age) implements Selection {
        @Override
        public Map<String, String> parameters() {
            return Map.of("older_than", given);
        }
    }

    /** Every entry there is when the call starts. */
    record All() implements Selection {
        @Override
        public Map<String, String> parameters() {
            return Map.of("all", "true");
        }
    }

    /**
     * The one selection {@code fields} make, of those {@code allowed} ({@code id}, {@code range}, {@code reason},
     * {@code older_than}, {@code all}).
     *
     * @throws DeadLetterProblem (400) naming the field, when none, more than one, or a malformed one is given
     */
    static Selection parse(Map<String, @Nullable String> fields, Set<String> allowed) {
        var given = new ArrayList<String>();
        fields.forEach((name, value) -> {
            if (value != null) {
                given.add(name);
            }
        });
        String choices = String.join(
                ", ", allowed.stream().sorted().map(Selection::spelled).toList());
        boolean range = given.contains("from") || given.contains("to");
        int selectors = (range ? 1 : 0)
                + (int) given.stream()
                        .filter(name -> !name.equals("from") && !name.equals("to"))
                        .count();
        if (selectors == 0) {
            throw DeadLetterProblem.badRequest(
                    "body", "Say which dead letters: send a JSON body with one of " + choices);
        }
        if (selectors > 1) {
            throw DeadLetterProblem.badRequest(
                    "body", "Send one selector only, not " + String.join(" and ", given) + "; one of " + choices);
        }
        String field = range ? "range" : given.getFirst();
        if (!allowed.contains(field)) {
            throw DeadLetterProblem.badRequest(field, "'" + field + "' is not a selector here; use one of " + choices);
        }
        return switch (field) {
            case "id" -> new One(fullId("id", fields.get("id")));
            case "range" -> between(fields.get("from"), fields.get("to"));
            case "reason" -> new Reason(reason(fields.get("reason")));
            case "older_than" -> olderThan(fields.get("older_than"));
            case "all" -> all(fields.get("all"));
            default -> throw new IllegalStateException("unexpected selector " + field);
        };
    }

    private static String spelled(String selector) {
        return switch (selector) {
            case "id" -> "{\"id\": \"<dead-letter id>\"}";
            case "range" -> "{\"from\": \"<id>\", \"to\": \"<id>\"}";
            case "reason" -> "{\"reason\": \"<dlq_problem, e.g. UNKNOWN_SCHEMA>\"}";
            case "older_than" -> "{\"older_than\": \"PT24H\"}";
            case "all" -> "{\"all\": true}";
            default -> selector;
        };
    }

    /** A full stream id such as {@code 1732800000000-0}. */
    static String fullId(String field, @Nullable String value) {
        if (value == null || !FULL_ID.matcher(value).matches()) {
            throw DeadLetterProblem.badRequest(
                    field, "'" + field + "' must be a stream id such as 1732800000000-0, was " + quoted(value));
        }
        try {
            StreamEntryId.parse(value);
        } catch (IllegalArgumentException e) {
            throw DeadLetterProblem.badRequest(field, "'" + field + "' is out of range: " + quoted(value));
        }
        return value;
    }

    /** A reason as the dead-letter entries spell it in {@code dlq_problem}. */
    static String reason(@Nullable String value) {
        if (value == null || !REASON.matcher(value).matches()) {
            throw DeadLetterProblem.badRequest(
                    "reason",
                    "'reason' must be a dead-letter problem such as UNKNOWN_SCHEMA (letters, digits, _ . : -, at"
                            + " most 64), was " + quoted(value));
        }
        return value;
    }

    private static Between between(@Nullable String from, @Nullable String to) {
        if (from == null || to == null) {
            String missing = from == null ? "from" : "to";
            throw DeadLetterProblem.badRequest(
                    missing, "A range needs both 'from' and 'to'; '" + missing + "' is missing");
        }
        StreamEntryId first = bound("from", from, 0);
        StreamEntryId last = bound("to", to, Long.MAX_VALUE);
        if (first.compareTo(last) > 0) {
            throw DeadLetterProblem.badRequest("range", "'from' (" + from + ") is after 'to' (" + to + ")");
        }
        return new Between(from, to, first, last);
    }

    private static StreamEntryId bound(String field, String value, long sequenceIfAbsent) {
        if (!BOUND.matcher(value).matches()) {
            throw DeadLetterProblem.badRequest(
                    field,
                    "'" + field + "' must be a stream id (1732800000000-0) or its milliseconds (1732800000000), was "
                            + quoted(value));
        }
        try {
            var id = StreamEntryId.parse(value);
            return value.contains("-") ? id : new StreamEntryId(id.millis(), sequenceIfAbsent);
        } catch (IllegalArgumentException e) {
            throw DeadLetterProblem.badRequest(field, "'" + field + "' is out of range: " + quoted(value));
        }
    }

    private static OlderThan olderThan(@Nullable String value) {
        Duration age;
        try {
            age = DurationStyle.detectAndParse(String.valueOf(value));
        } catch (IllegalArgumentException | DateTimeParseException e) {
            throw DeadLetterProblem.badRequest(
                    "older_than", "'older_than' must be a duration such as PT24H or 24h, was " + quoted(value));
        }
        if (age.isNegative()) {
            throw DeadLetterProblem.badRequest("older_than", "'older_than' must not be negative, was " + quoted(value));
        }
        return new OlderThan(String.valueOf(value), age);
    }

    private static All all(@Nullable String value) {
        if (!"true".equals(value)) {
            throw DeadLetterProblem.badRequest(
                    "all", "'all' must be true (leave it out to select something else), was " + quoted(value));
        }
        return new All();
    }

    static String quoted(@Nullable String value) {
        if (value == null) {
            return "nothing";
        }
        return "'" + (value.length() > 40 ? value.substring(0, 40) + "..." : value) + "'";
    }
}
