package io.cqrs.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cqrs.events.RecordChanges.Change;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class RecordChangesTests {

    @Test
    void writesOneLinePerChange() {
        assertThat(RecordChanges.encode(List.of(new Change("a", 3), new Change("user/1 ü", 12))))
                .containsExactly("3 a\n12 user/1 ü");
    }

    @Test
    void roundTripsKeysWithSpacesSlashesAndUnicode() {
        var changes = List.of(new Change("a b c", 1), new Change("/x/ y", 2), new Change("ключ", 3));

        assertThat(RecordChanges.encode(changes))
                .singleElement()
                .satisfies(payload -> assertThat(RecordChanges.decode(payload)).isEqualTo(changes));
    }

    @Test
    void splitsLargeBatchesIntoPayloadsPostgresAccepts() {
        var changes = IntStream.range(0, 1000)
                .mapToObj(i -> new Change("é".repeat(200) + i, i + 1))
                .toList();

        var payloads = RecordChanges.encode(changes);

        assertThat(payloads)
                .hasSizeGreaterThan(1)
                .allSatisfy(payload -> assertThat(payload.getBytes(StandardCharsets.UTF_8).length)
                        .isLessThanOrEqualTo(RecordChanges.MAX_PAYLOAD_BYTES));
        var decoded = new ArrayList<Change>();
        payloads.forEach(payload -> decoded.addAll(RecordChanges.decode(payload)));
        assertThat(decoded).isEqualTo(changes);
    }

    @Test
    void sendsNothingForNoChanges() {
        assertThat(RecordChanges.encode(List.of())).isEmpty();
    }

    @Test
    void rejectsALineWithoutVersionAndKey() {
        assertThatThrownBy(() -> RecordChanges.decode("12")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RecordChanges.decode("x key")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void saysInEveryPayloadWhenItWasSent() {
        var sentAt = Instant.parse("2026-11-28T16:30:00.123456Z");
        var changes = IntStream.range(0, 1000)
                .mapToObj(i -> new Change("é".repeat(200) + i, i + 1))
                .toList();

        var payloads = RecordChanges.encode(changes, sentAt);

        assertThat(payloads.getFirst()).startsWith("0 \tsent 1795883400123456\n");
        assertThat(payloads).hasSizeGreaterThan(1).allSatisfy(payload -> {
            assertThat(payload.getBytes(StandardCharsets.UTF_8).length)
                    .isLessThanOrEqualTo(RecordChanges.MAX_PAYLOAD_BYTES);
            assertThat(RecordChanges.read(payload).sentAt()).isEqualTo(sentAt);
        });
        var decoded = new ArrayList<Change>();
        payloads.forEach(payload -> decoded.addAll(RecordChanges.decode(payload)));
        assertThat(decoded).isEqualTo(changes);
    }

    @Test
    void readsPayloadsWithoutTheSendingTime() {
        assertThat(RecordChanges.read("3 a")).isEqualTo(new RecordChanges.Notice(List.of(new Change("a", 3)), null));
    }

    @Test
    void theHeaderIsAChangeToVersionZeroOfAnImpossibleKeyForReadersThatPredateIt() {
        String payload =
                RecordChanges.encode(List.of(new Change("a", 3)), Instant.EPOCH).getFirst();

        // What a reader without the header would have made of it, line by line.
        var header = payload.split("\n")[0];
        assertThat(header.substring(0, header.indexOf(' '))).isEqualTo("0");
        assertThat(header.substring(header.indexOf(' ') + 1)).startsWith("\t");
    }

    @Test
    void rejectsAHeaderWithoutATime() {
        assertThatThrownBy(() -> RecordChanges.read("0 \tsent soon\n3 a")).isInstanceOf(IllegalArgumentException.class);
    }
}
