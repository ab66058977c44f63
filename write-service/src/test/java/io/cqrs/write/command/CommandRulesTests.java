package io.cqrs.write.command;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.util.unit.DataSize;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class CommandRulesTests {

    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final CommandRules rules = new CommandRules(
            new WriteProperties(
                    16,
                    3,
                    DataSize.ofKilobytes(64),
                    100,
                    1000,
                    DataSize.ofMegabytes(1),
                    1,
                    Duration.ofSeconds(5),
                    Duration.ofHours(1)),
            meters);
    private final JsonMapper json = JsonMapper.builder().build();

    @Test
    void acceptsAKeyAndAStringValue() {
        assertThat(rules.write(text("user/1 ü"), text(""), null)).isEqualTo(Command.write("user/1 ü", ""));
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"value\": \"v\"}", "{\"key\": null, \"value\": \"v\"}"})
    void requiresAKey(String body) {
        assertThat(violations(body)).containsExactly(new Violation("key", "is required"));
    }

    @Test
    void requiresAStringValue() {
        assertThat(violations("{\"key\": \"k\", \"value\": 12}"))
                .containsExactly(new Violation("value", "must be a JSON string"));
        assertThat(violations("{\"key\": \"k\", \"value\": {\"a\": 1}}"))
                .containsExactly(new Violation("value", "must be a JSON string"));
    }

    @Test
    void limitsKeysTo255CharactersNotBytes() {
        assertThat(violations("{\"key\": \"" + "é".repeat(255) + "\", \"value\": \"v\"}"))
                .isEmpty();
        assertThat(violations("{\"key\": \"" + "k".repeat(256) + "\", \"value\": \"v\"}"))
                .containsExactly(new Violation("key", "must be 1 to 255 characters long, was 256"));
        assertThat(violations("{\"key\": \"\", \"value\": \"v\"}"))
                .containsExactly(new Violation("key", "must be 1 to 255 characters long, was 0"));
    }

    @Test
    void refusesControlCharactersInKeys() {
        assertThat(violations("{\"key\": \"a\\nb\", \"value\": \"v\"}"))
                .containsExactly(new Violation("key", "must not contain control characters"));
    }

    @Test
    void refusesNulInValues() {
        assertThat(violations("{\"key\": \"k\", \"value\": \"a\\u0000b\"}"))
                .containsExactly(new Violation("value", "must not contain NUL characters"));
    }

    @Test
    void countsTheValueLimitInUtf8Bytes() {
        assertThat(violations("{\"key\": \"k\", \"value\": \"" + "a".repeat(16) + "\"}"))
                .isEmpty();
        assertThat(violations("{\"key\": \"k\", \"value\": \"" + "é".repeat(9) + "\"}"))
                .containsExactly(new Violation("value", "must be at most 16 bytes in UTF-8, was 18"));
    }

    @Test
    void refusesUnpairedSurrogatesThatPostgresCouldNotStore() {
        assertThat(violations("{\"key\": \"k\\ud800\", \"value\": \"\\udc00x\"}"))
                .containsExactly(
                        new Violation("key", "must be valid Unicode (it has an unpaired surrogate)"),
                        new Violation("value", "must be valid Unicode (it has an unpaired surrogate)"));
        assertThat(violations("{\"key\": \"k\", \"value\": \"\\ud83d\\ude00\"}"))
                .isEmpty();
    }

    @Test
    void acceptsABatchOfGoodCommands() {
        assertThat(rules.batch(node("[{\"key\": \"a\", \"value\": \"1\"}, {\"key\": \"b\", \"value\": \"2\"}]"), null))
                .containsExactly(Command.write("a", "1"), Command.write("b", "2"));
    }

    @Test
    void namesEachBadCommandOfABatchByIndex() {
        assertThat(violations(
                        () -> rules.batch(node("[{\"key\": \"a\", \"value\": \"1\"}, {\"key\": \"b\"}, 7]"), null)))
                .containsExactly(
                        new Violation("commands[1].value", "is required"),
                        new Violation("commands[2]", "must be a {\"key\", \"value\"} object"));
    }

    @Test
    void limitsTheBatchSize() {
        assertThat(violations(() -> rules.batch(node("[{}, {}, {}, {}]"), null)))
                .singleElement()
                .satisfies(v -> assertThat(v.message()).contains("1 to 3"));
    }

    @Test
    void refusesADeleteOfAnInvalidKey() {
        assertThat(violations(() -> rules.delete("a\u0007b", null)))
                .containsExactly(new Violation("key", "must not contain control characters"));
        assertThat(rules.delete("a/b", null)).isEqualTo(Command.delete("a/b"));
    }

    @Test
    void acceptsVisibleAsciiIdempotencyKeysOnly() {
        assertThat(rules.write(text("k"), text("v"), "retry-2026-11-21T10:00:00Z"))
                .isEqualTo(Command.write("k", "v"));
        assertThat(rules.delete("k", "retry-2026-11-21T10:00:00Z")).isEqualTo(Command.delete("k"));

        assertThat(violations(() -> rules.write(text("k"), text("v"), "has space")))
                .extracting(Violation::field)
                .containsExactly("Idempotency-Key");
        assertThat(violations(() -> rules.delete("k", "")))
                .extracting(Violation::field)
                .containsExactly("Idempotency-Key");
    }

    @Test
    void countsEveryRefusedRequest() {
        violations(() -> rules.write(null, text("v"), null));
        violations(() -> rules.delete("", null));

        assertThat(meters.counter("cqrs.write.commands", "op", "write", "result", "invalid")
                        .count())
                .isOne();
        assertThat(meters.counter("cqrs.write.commands", "op", "delete", "result", "invalid")
                        .count())
                .isOne();
    }

    private List<Violation> violations(String body) {
        JsonNode node = node(body);
        return violations(() -> rules.write(node.get("key"), node.get("value"), null));
    }

    // The violations a request is refused with; none when it passes.
    private static List<Violation> violations(ThrowingCallable request) {
        try {
            request.call();
            return List.of();
        } catch (InvalidCommand e) {
            return e.violations();
        } catch (Throwable e) {
            throw new AssertionError(e);
        }
    }

    private JsonNode text(String text) {
        return json.getNodeFactory().stringNode(text);
    }

    private JsonNode node(String body) {
        return json.readTree(body);
    }
}
