package io.cqrs.projector.deadletters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cqrs.stream.StreamEntryId;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SelectionTests {

    private static final Set<String> ALL = Set.of("id", "range", "reason", "older_than", "all");

    @Test
    void readsEachSelector() {
        assertThat(parse("id", "1732800000000-3")).isEqualTo(new Selection.One("1732800000000-3"));
        assertThat(parse("reason", "UNKNOWN_SCHEMA")).isEqualTo(new Selection.Reason("UNKNOWN_SCHEMA"));
        assertThat(parse("older_than", "PT24H")).isEqualTo(new Selection.OlderThan("PT24H", Duration.ofHours(24)));
        assertThat(parse("older_than", "90m")).isEqualTo(new Selection.OlderThan("90m", Duration.ofMinutes(90)));
        assertThat(parse("all", "true")).isEqualTo(new Selection.All());
    }

    @Test
    void readsARangeWhoseBoundsMayBeMillisecondsAlone() {
        var fields = new LinkedHashMap<String, String>();
        fields.put("from", "100");
        fields.put("to", "200");

        var range = (Selection.Between) Selection.parse(fields, ALL);

        assertThat(range.first()).isEqualTo(new StreamEntryId(100, 0));
        assertThat(range.last()).isEqualTo(new StreamEntryId(200, Long.MAX_VALUE));
        assertThat(range.parameters()).isEqualTo(Map.of("from", "100", "to", "200"));
    }

    @Test
    void acceptsARangeOfOneMillisecond() {
        var fields = new LinkedHashMap<String, String>();
        fields.put("from", "100");
        fields.put("to", "100");

        assertThat(Selection.parse(fields, ALL)).isInstanceOf(Selection.Between.class);
    }

    @Test
    void refusesNoSelectorAndMoreThanOne() {
        assertRefused(new LinkedHashMap<>(), "body");
        var two = new LinkedHashMap<String, String>();
        two.put("id", "1-1");
        two.put("all", "true");
        assertRefused(two, "body");
    }

    @Test
    void refusesASelectorTheOperationDoesNotTake() {
        assertThatThrownBy(() -> Selection.parse(Map.of("older_than", "PT1H"), Set.of("id", "all")))
                .isInstanceOfSatisfying(
                        DeadLetterProblem.class, p -> assertThat(p.properties()).containsEntry("field", "older_than"));
    }

    @Test
    void refusesMalformedValues() {
        assertRefused(Map.of("id", "1732800000000"), "id");
        assertRefused(Map.of("id", "1-1-1"), "id");
        assertRefused(Map.of("reason", ""), "reason");
        assertRefused(Map.of("reason", "x".repeat(65)), "reason");
        assertRefused(Map.of("older_than", "-1h"), "older_than");
        assertRefused(Map.of("older_than", "soon"), "older_than");
        assertRefused(Map.of("all", "yes"), "all");
        assertRefused(Map.of("from", "2-0", "to", "1-0"), "range");
        assertRefused(Map.of("to", "1-0"), "from");
    }

    private static Selection parse(String field, String value) {
        return Selection.parse(Map.of(field, value), ALL);
    }

    private static void assertRefused(Map<String, String> fields, String field) {
        assertThatThrownBy(() -> Selection.parse(fields, ALL))
                .isInstanceOfSatisfying(DeadLetterProblem.class, problem -> {
                    assertThat(problem.status().value()).isEqualTo(400);
                    assertThat(problem.properties()).containsEntry("field", field);
                    assertThat(problem.getMessage()).isNotBlank();
                });
    }
}
