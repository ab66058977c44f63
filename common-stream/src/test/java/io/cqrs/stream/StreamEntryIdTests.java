package io.cqrs.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class StreamEntryIdTests {

    @Test
    void ordersByMillisThenSequence() {
        assertThat(StreamEntryId.parse("5-10")).isLessThan(StreamEntryId.parse("6-0"));
        assertThat(StreamEntryId.parse("6-2")).isGreaterThan(StreamEntryId.parse("6-1"));
        assertThat(StreamEntryId.parse("1700000000000-3").toString()).isEqualTo("1700000000000-3");
    }

    @Test
    void readsTheMillisecondsOfAnIdInPlace() {
        assertThat(StreamEntryId.millisOf("1700000000000-3")).isEqualTo(1_700_000_000_000L);
        assertThat(StreamEntryId.millisOf("42")).isEqualTo(42);
        assertThatThrownBy(() -> StreamEntryId.millisOf("-3")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void takesTheSmallerOfTwoPossiblyAbsentIds() {
        var a = StreamEntryId.parse("1-0");
        var b = StreamEntryId.parse("2-0");

        assertThat(StreamEntryId.min(a, b)).isEqualTo(a);
        assertThat(StreamEntryId.min(b, a)).isEqualTo(a);
        assertThat(StreamEntryId.min(null, b)).isEqualTo(b);
        assertThat(StreamEntryId.min(a, null)).isEqualTo(a);
        assertThat(StreamEntryId.min(null, null)).isNull();
    }

    @Test
    void nextIsTheSmallestLargerId() {
        assertThat(StreamEntryId.parse("7-1").next()).isEqualTo(StreamEntryId.parse("7-2"));
        assertThat(new StreamEntryId(7, Long.MAX_VALUE).next()).isEqualTo(StreamEntryId.parse("8-0"));
    }

    @Test
    void rejectsGarbage() {
        assertThatThrownBy(() -> StreamEntryId.parse("abc-1")).hasMessageContaining("not a stream entry id");
    }

    @Test
    void lagIsZeroWhenAGroupHasFinishedAndTheAgeOfTheOldestUnfinishedEntryOtherwise() {
        var idle = new GroupStatus("g", 1, 0, 0L, StreamEntryId.parse("1000-0"), null, null);
        var behind = new GroupStatus(
                "g",
                1,
                1,
                1L,
                StreamEntryId.parse("3000-0"),
                StreamEntryId.parse("2000-0"),
                StreamEntryId.parse("4000-0"));

        assertThat(idle.lagSeconds(60_000)).isZero();
        assertThat(behind.lagSeconds(10_000)).isEqualTo(8.0);
    }
}
