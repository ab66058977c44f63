package io.cqrs.write.command;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.util.unit.DataSize;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class CommandRulesTests {

    private final CommandRules rules = new CommandRules(new WriteProperties(
            16, 3, DataSize.ofKilobytes(64), 100, 1000, 1, Duration.ofSeconds(5), Duration.ofHours(1)));
    private final JsonMapper json = JsonMapper.builder().build();

    @Test
    void acceptsAKeyAndAStringValue() {
        var violations = new ArrayList<Violation>();

        assertThat(rules.write("", text("user/1 ü"), text(""), violations)).isEqualTo(Command.write("user/1 ü", ""));
        assertThat(violations).isEmpty();
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
    void namesEachBadCommandOfABatchByIndex() {
        var violations = new ArrayList<Violation>();
        var batch = rules.batch(node("[{\"key\": \"a\", \"value\": \"1\"}, {\"key\": \"b\"}, 7]"), violations);

        assertThat(batch).containsExactly(Command.write("a", "1"));
        assertThat(violations)
                .containsExactly(
                        new Violation("commands[1].value", "is required"),
                        new Violation("commands[2]", "must be a {\"key\", \"value\"} object"));
    }

    @Test
    void limitsTheBatchSize() {
        var violations = new ArrayList<Violation>();
        rules.batch(node("[{}, {}, {}, {}]"), violations);

        assertThat(violations)
                .singleElement()
                .satisfies(v -> assertThat(v.message()).contains("1 to 3"));
    }

    @Test
    void refusesADeleteOfAnInvalidKey() {
        assertThatThrownBy(() -> rules.delete("a\u0007b"))
                .isInstanceOfSatisfying(
                        InvalidCommand.class,
                        e -> assertThat(e.violations())
                                .containsExactly(new Violation("key", "must not contain control characters")));
    }

    @Test
    void acceptsVisibleAsciiIdempotencyKeysOnly() {
        var violations = new ArrayList<Violation>();
        rules.checkIdempotencyKey("retry-2026-11-21T10:00:00Z", violations);
        rules.checkIdempotencyKey(null, violations);
        assertThat(violations).isEmpty();

        rules.checkIdempotencyKey("has space", violations);
        assertThat(violations).extracting(Violation::field).containsExactly("Idempotency-Key");
    }

    private List<Violation> violations(String body) {
        var violations = new ArrayList<Violation>();
        JsonNode node = node(body);
        rules.write("", node.get("key"), node.get("value"), violations);
        return violations;
    }

    private JsonNode text(String text) {
        return json.getNodeFactory().stringNode(text);
    }

    private JsonNode node(String body) {
        return json.readTree(body);
    }
}
