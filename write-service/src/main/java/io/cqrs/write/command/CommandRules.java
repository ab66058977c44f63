package io.cqrs.write.command;

import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;
import tools.jackson.databind.JsonNode;

/**
 * The rules every command meets before it may join a group commit, so that one bad request can never fail the
 * transaction it would have shared with good ones. Each method returns the validated commands of a request or throws
 * {@link InvalidCommand} with every violation, each naming the field it is about.
 */
@Component
class CommandRules {

    static final int MAX_KEY_CHARACTERS = 255;

    private final int maxValueBytes;
    private final int maxBatchCommands;
    private final MeterRegistry meters;

    CommandRules(WriteProperties properties, MeterRegistry meters) {
        this.maxValueBytes = properties.maxValueBytes();
        this.maxBatchCommands = properties.maxBatchCommands();
        this.meters = meters;
    }

    /** The write a body's {@code key} and {@code value} ask for. */
    Command write(@Nullable JsonNode key, @Nullable JsonNode value, @Nullable String idempotencyKey) {
        var violations = new ArrayList<Violation>();
        Command command = write("", key, value, violations);
        checkIdempotencyKey(idempotencyKey, violations);
        if (command == null || !violations.isEmpty()) {
            throw refused(Command.Op.WRITE, violations);
        }
        return command;
    }

    /** The writes of a batch body's {@code commands} array; each violation names its command's index. */
    List<Command> batch(@Nullable JsonNode commands, @Nullable String idempotencyKey) {
        var violations = new ArrayList<Violation>();
        List<Command> batch = batch(commands, violations);
        checkIdempotencyKey(idempotencyKey, violations);
        if (!violations.isEmpty()) {
            throw refused(Command.Op.WRITE, violations);
        }
        return batch;
    }

    /** A delete of the key taken from a URL path. */
    Command delete(String key, @Nullable String idempotencyKey) {
        var violations = new ArrayList<Violation>();
        checkKey("key", key, violations);
        checkIdempotencyKey(idempotencyKey, violations);
        if (!violations.isEmpty()) {
            throw refused(Command.Op.DELETE, violations);
        }
        return Command.delete(key);
    }

    private InvalidCommand refused(Command.Op op, List<Violation> violations) {
        meters.counter("cqrs.write.commands", "op", op.label(), "result", "invalid")
                .increment();
        return new InvalidCommand(violations);
    }

    private List<Command> batch(@Nullable JsonNode commands, List<Violation> violations) {
        if (commands == null || commands.isMissingNode() || commands.isNull()) {
            violations.add(new Violation("commands", "is required"));
            return List.of();
        }
        if (!commands.isArray() || commands.isEmpty() || commands.size() > maxBatchCommands) {
            violations.add(new Violation(
                    "commands", "must be an array of 1 to " + maxBatchCommands + " {\"key\", \"value\"} objects"));
            return List.of();
        }
        var batch = new ArrayList<Command>(commands.size());
        for (int i = 0; i < commands.size(); i++) {
            JsonNode item = commands.get(i);
            String prefix = "commands[" + i + "].";
            if (!item.isObject()) {
                violations.add(new Violation("commands[" + i + "]", "must be a {\"key\", \"value\"} object"));
                continue;
            }
            Command command = write(prefix, item.get("key"), item.get("value"), violations);
            if (command != null) {
                batch.add(command);
            }
        }
        return batch;
    }

    /** Idempotency-Keys are 1 to 255 visible ASCII characters, so that they log and compare unambiguously. */
    private static void checkIdempotencyKey(@Nullable String key, List<Violation> violations) {
        if (key != null && (key.isEmpty() || key.length() > 255 || !key.chars().allMatch(c -> c > 0x20 && c < 0x7f))) {
            violations.add(new Violation("Idempotency-Key", "must be 1 to 255 visible ASCII characters"));
        }
    }

    private @Nullable Command write(
            String prefix, @Nullable JsonNode key, @Nullable JsonNode value, List<Violation> violations) {
        int before = violations.size();
        String keyText = text(prefix + "key", key, violations);
        if (keyText != null) {
            checkKey(prefix + "key", keyText, violations);
        }
        String valueText = text(prefix + "value", value, violations);
        if (valueText != null) {
            checkValue(prefix + "value", valueText, violations);
        }
        return violations.size() == before && keyText != null && valueText != null
                ? Command.write(keyText, valueText)
                : null;
    }

    private static @Nullable String text(String field, @Nullable JsonNode node, List<Violation> violations) {
        if (node == null || node.isMissingNode() || node.isNull()) {
            violations.add(new Violation(field, "is required"));
            return null;
        }
        if (!node.isString()) {
            violations.add(new Violation(field, "must be a JSON string"));
            return null;
        }
        return node.stringValue();
    }

    private static void checkKey(String field, String key, List<Violation> violations) {
        int characters = key.codePointCount(0, key.length());
        if (characters < 1 || characters > MAX_KEY_CHARACTERS) {
            violations.add(
                    new Violation(field, "must be 1 to " + MAX_KEY_CHARACTERS + " characters long, was " + characters));
        }
        if (key.codePoints().anyMatch(Character::isISOControl)) {
            violations.add(new Violation(field, "must not contain control characters"));
        }
        checkSurrogates(field, key, violations);
    }

    private void checkValue(String field, String value, List<Violation> violations) {
        if (value.indexOf('\0') >= 0) {
            violations.add(new Violation(field, "must not contain NUL characters"));
        }
        if (!checkSurrogates(field, value, violations)) {
            return;
        }
        // Most values are ASCII-sized: only count bytes when the characters alone could exceed the limit.
        if (value.length() * 3L > maxValueBytes) {
            int bytes = value.getBytes(StandardCharsets.UTF_8).length;
            if (bytes > maxValueBytes) {
                violations.add(
                        new Violation(field, "must be at most " + maxValueBytes + " bytes in UTF-8, was " + bytes));
            }
        }
    }

    // JSON may carry lone surrogates ("\ud800"); PostgreSQL cannot store them as UTF-8 and would fail the whole group.
    private static boolean checkSurrogates(String field, String text, List<Violation> violations) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                violations.add(new Violation(field, "must be valid Unicode (it has an unpaired surrogate)"));
                return false;
            }
        }
        return true;
    }
}
