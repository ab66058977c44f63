package io.cqrs.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cqrs.events.MalformedEventException.Problem;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EventCodecTests {

    @Nested
    class Encode {

        @Test
        void encodesWrittenExactlyAsTheFixture() {
            assertThat(EventCodec.encode(EventFixtures.WRITTEN))
                    .containsExactlyEntriesOf(EventFixtures.writtenFields());
        }

        @Test
        void encodesDeletedExactlyAsTheFixtureWithoutValue() {
            assertThat(EventCodec.encode(EventFixtures.DELETED))
                    .containsExactlyEntriesOf(EventFixtures.deletedFields())
                    .doesNotContainKey("value");
        }

        @Test
        void writesSixFractionDigitsEvenForWholeSeconds() {
            var event = new RecordWritten(1, "k", "v", 1, 1, Instant.parse("2026-01-02T03:04:05Z"));

            assertThat(EventCodec.encode(event)).containsEntry("occurred_at", "2026-01-02T03:04:05.000000Z");
        }
    }

    @Nested
    class TraceContext {

        @Test
        void encodesTheTraceparentLastAndOnlyWhenGiven() {
            assertThat(EventCodec.encode(EventFixtures.WRITTEN, EventFixtures.TRACEPARENT))
                    .containsExactlyEntriesOf(EventFixtures.writtenTracedFields());
            assertThat(EventCodec.encode(EventFixtures.WRITTEN, null))
                    .containsExactlyEntriesOf(EventFixtures.writtenFields());
        }

        @Test
        void roundTripsTheTraceparentBesideTheSameEvent() {
            var fields = EventCodec.encode(EventFixtures.DELETED, EventFixtures.TRACEPARENT);

            assertThat(EventCodec.decode(fields)).isEqualTo(EventFixtures.DELETED);
            assertThat(EventCodec.traceparent(fields)).isEqualTo(EventFixtures.TRACEPARENT);
        }

        @Test
        void readsNoTraceparentFromAnEntryWithout() {
            assertThat(EventCodec.traceparent(EventFixtures.writtenFields())).isNull();
        }

        @Test
        void decodesATracedEntryAsTheSameEventSoThatOldAndNewConsumersAgree() {
            assertThat(EventCodec.decode(EventFixtures.writtenTracedFields())).isEqualTo(EventFixtures.WRITTEN);
        }

        @ParameterizedTest
        @ValueSource(
                strings = {
                    "",
                    "garbage",
                    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
                    "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01"
                })
        void ignoresATraceparentThatIsNotWellFormedAndStillDecodesTheEvent(String traceparent) {
            var fields = new LinkedHashMap<>(EventFixtures.writtenFields());
            fields.put("traceparent", traceparent);

            assertThat(EventCodec.traceparent(fields)).isNull();
            assertThat(EventCodec.decode(fields)).isEqualTo(EventFixtures.WRITTEN);
        }
    }

    @Nested
    class Decode {

        @Test
        void decodesTheFixtures() {
            assertThat(EventCodec.decode(EventFixtures.writtenFields())).isEqualTo(EventFixtures.WRITTEN);
            assertThat(EventCodec.decode(EventFixtures.deletedFields())).isEqualTo(EventFixtures.DELETED);
        }

        @Test
        void roundTripsBothTypes() {
            var written = new RecordWritten(7, "a key/with ünïcode", "", 9, 5, Instant.parse("2026-03-01T00:00:00.5Z"));
            var deleted = new RecordDeleted(8, "k", 10, 5, Instant.parse("2026-03-01T00:00:00.000123Z"));

            assertThat(EventCodec.decode(EventCodec.encode(written))).isEqualTo(written);
            assertThat(EventCodec.decode(EventCodec.encode(deleted))).isEqualTo(deleted);
        }

        @Test
        void truncatesNanosecondsToMicrosecondsLikePostgres() {
            var event = new RecordWritten(1, "k", "v", 1, 1, Instant.parse("2026-01-02T03:04:05.123456789Z"));

            assertThat(event.occurredAt()).isEqualTo(Instant.parse("2026-01-02T03:04:05.123456Z"));
            assertThat(EventCodec.decode(EventCodec.encode(event))).isEqualTo(event);
        }

        @Test
        void ignoresFieldsItDoesNotKnowSoThatAddingOneIsCompatible() {
            var fields = withFields(EventFixtures.writtenFields(), f -> f.put("trace_id", "abc"));

            assertThat(EventCodec.decode(fields)).isEqualTo(EventFixtures.WRITTEN);
        }

        @ParameterizedTest
        @ValueSource(
                strings = {"type", "schema", "command_id", "key", "value", "version", "write_count", "occurred_at"})
        void rejectsWrittenWithoutARequiredField(String field) {
            var fields = withFields(EventFixtures.writtenFields(), f -> f.remove(field));

            assertMalformed(fields, Problem.MISSING_FIELD, field, "missing field '" + field + "'");
        }

        @ParameterizedTest
        @ValueSource(strings = {"type", "schema", "command_id", "key", "version", "write_count", "occurred_at"})
        void rejectsDeletedWithoutARequiredField(String field) {
            var fields = withFields(EventFixtures.deletedFields(), f -> f.remove(field));

            assertMalformed(fields, Problem.MISSING_FIELD, field, "missing field '" + field + "'");
        }

        @ParameterizedTest
        @ValueSource(strings = {"command_id", "version", "write_count", "schema"})
        void rejectsANumberFieldThatIsNotAWholeNumber(String field) {
            var fields = withFields(EventFixtures.writtenFields(), f -> f.put(field, "12x"));

            assertMalformed(fields, Problem.BAD_NUMBER, field, "field '" + field + "' is not a whole number: '12x'");
        }

        @Test
        void rejectsANumberThatOverflowsALong() {
            var fields = withFields(EventFixtures.writtenFields(), f -> f.put("version", "99999999999999999999"));

            assertMalformed(fields, Problem.BAD_NUMBER, "version", "not a whole number");
        }

        @Test
        void rejectsABadTimestamp() {
            var fields = withFields(EventFixtures.writtenFields(), f -> f.put("occurred_at", "yesterday"));

            assertMalformed(fields, Problem.BAD_TIMESTAMP, "occurred_at", "not an ISO-8601 UTC timestamp: 'yesterday'");
        }

        @Test
        void rejectsAnUnknownType() {
            var fields = withFields(EventFixtures.writtenFields(), f -> f.put("type", "record.renamed"));

            assertMalformed(fields, Problem.UNKNOWN_TYPE, "type", "unknown event type 'record.renamed'");
        }

        @ParameterizedTest
        @ValueSource(strings = {"2", "0", "-1"})
        void rejectsASchemaItDoesNotRead(String schema) {
            var fields = withFields(EventFixtures.writtenFields(), f -> f.put("schema", schema));

            assertMalformed(fields, Problem.UNKNOWN_SCHEMA, "schema", "unknown schema " + schema);
        }

        @Test
        void reportsAHigherSchemaBeforeAnythingElseItCannotRead() {
            Map<String, String> fields = Map.of("schema", "2", "type", "record.moved");

            assertMalformed(fields, Problem.UNKNOWN_SCHEMA, "schema", "unknown schema 2");
        }

        @Test
        void rejectsTheCurrentSchemaWhenReadAsAConsumerThatPredatesIt() {
            var fields = EventFixtures.writtenFields();

            assertThatThrownBy(() -> EventCodec.decode(fields, EventCodec.SCHEMA - 1))
                    .isInstanceOfSatisfying(
                            MalformedEventException.class,
                            e -> assertThat(e.problem()).isEqualTo(Problem.UNKNOWN_SCHEMA))
                    .hasMessageContaining("unknown schema " + EventCodec.SCHEMA);
            assertThat(EventCodec.decode(fields, EventCodec.SCHEMA)).isEqualTo(EventCodec.decode(fields));
        }

        @ParameterizedTest
        @ValueSource(ints = {-1, EventCodec.SCHEMA + 1})
        void neverReadsMoreSchemasThanItKnows(int highestSchema) {
            assertThatThrownBy(() -> EventCodec.decode(EventFixtures.writtenFields(), highestSchema))
                    .isInstanceOf(IllegalArgumentException.class);
        }

        @Test
        void rejectsAnEmptyKey() {
            var fields = withFields(EventFixtures.writtenFields(), f -> f.put("key", ""));

            assertMalformed(fields, Problem.BAD_VALUE, null, "key must not be empty");
        }

        @ParameterizedTest
        @ValueSource(strings = {"0", "-3"})
        void rejectsAVersionBelowOne(String version) {
            var fields = withFields(EventFixtures.deletedFields(), f -> f.put("version", version));

            assertMalformed(fields, Problem.BAD_VALUE, null, "version must be positive");
        }

        @Test
        void rejectsANonPositiveCommandId() {
            var fields = withFields(EventFixtures.writtenFields(), f -> f.put("command_id", "0"));

            assertMalformed(fields, Problem.BAD_VALUE, null, "command_id must be positive");
        }

        @Test
        void rejectsAWriteCountAboveTheVersion() {
            var fields = withFields(EventFixtures.writtenFields(), f -> f.put("write_count", "4"));

            assertMalformed(fields, Problem.BAD_VALUE, null, "write_count must be between 1 and the version (3)");
        }

        @Test
        void rejectsADeleteWhoseWriteCountLeavesNoVersionForTheDelete() {
            var fields = withFields(EventFixtures.deletedFields(), f -> f.put("write_count", "4"));

            assertMalformed(fields, Problem.BAD_VALUE, null, "write_count must be between 0 and the version minus one");
        }

        @Test
        void abbreviatesLongGarbageInTheReason() {
            var fields = withFields(EventFixtures.writtenFields(), f -> f.put("version", "x".repeat(10_000)));

            assertThatThrownBy(() -> EventCodec.decode(fields))
                    .isInstanceOf(MalformedEventException.class)
                    .message()
                    .hasSizeLessThan(120);
        }
    }

    private static Map<String, String> withFields(Map<String, String> fixture, Consumer<Map<String, String>> change) {
        var fields = new LinkedHashMap<>(fixture);
        change.accept(fields);
        return fields;
    }

    private static void assertMalformed(Map<String, String> fields, Problem problem, String field, String message) {
        assertThatThrownBy(() -> EventCodec.decode(fields))
                .isInstanceOfSatisfying(MalformedEventException.class, e -> {
                    assertThat(e.problem()).isEqualTo(problem);
                    assertThat(e.field()).isEqualTo(field);
                })
                .hasMessageContaining(message);
    }
}
