package io.cqrs.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The positional way must agree with java.time's general one on every text, whichever way it goes. */
class UtcTimestampTests {

    private static final DateTimeFormatter GENERAL =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSX").withZone(ZoneOffset.UTC);

    @Test
    void formatsAndParsesLikeJavaTimeAcrossTenThousandYears() {
        var random = new SplittableRandom(20261129);
        long first = Instant.parse("0000-01-01T00:00:00Z").getEpochSecond();
        long last = Instant.parse("9999-12-31T23:59:59Z").getEpochSecond();
        for (int i = 0; i < 100_000; i++) {
            var instant = Instant.ofEpochSecond(random.nextLong(first, last + 1), random.nextInt(1_000_000_000));
            assertRoundTrip(instant);
        }
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "1970-01-01T00:00:00Z",
                "1969-12-31T23:59:59.999999Z",
                "2024-02-29T12:00:00.5Z",
                "2000-02-29T23:59:59.999999999Z",
                "2100-03-01T00:00:00.000001Z",
                "0000-01-01T00:00:00Z",
                "9999-12-31T23:59:59.999999Z"
            })
    void formatsAndParsesTheEdgesLikeJavaTime(String text) {
        assertRoundTrip(Instant.parse(text));
    }

    @Test
    void writesTheGeneralFormBeyondFourDigitYears() {
        var far = Instant.parse("+10000-01-01T00:00:00Z");
        assertThat(UtcTimestamp.format(far)).isEqualTo(GENERAL.format(far));
        assertThat(UtcTimestamp.parse(UtcTimestamp.format(far))).isEqualTo(far);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "2026-01-02T03:04:05Z",
                "2026-01-02T03:04:05.123Z",
                "2026-01-02T03:04:05.123456789Z",
                "2026-01-02T03:04:05.123456+01:00",
                "2026-12-31T23:59:60.000000Z",
                "2026-02-30T00:00:00.000000Z",
                "2026-13-01T00:00:00.000000Z",
                "2026-01-02T24:00:00.000000Z",
                "2026-01-02T03:60:00.000000Z",
                "2026-0a-02T03:04:05.000000Z",
                "2026-01-02T03:04:05.00000aZ",
                "-026-01-02T03:04:05.000000Z",
                "2026-01-02 03:04:05.000000Z",
                "yesterday",
                ""
            })
    void readsEveryOtherTextAsInstantParseDoes(String text) {
        Instant expected;
        try {
            expected = Instant.parse(text);
        } catch (DateTimeParseException e) {
            assertThatThrownBy(() -> UtcTimestamp.parse(text)).isInstanceOf(DateTimeParseException.class);
            return;
        }
        assertThat(UtcTimestamp.parse(text)).isEqualTo(expected);
    }

    private static void assertRoundTrip(Instant instant) {
        String text = UtcTimestamp.format(instant);
        assertThat(text).isEqualTo(GENERAL.format(instant));
        assertThat(UtcTimestamp.parse(text))
                .isEqualTo(Instant.parse(text))
                .isEqualTo(instant.truncatedTo(ChronoUnit.MICROS));
    }
}
