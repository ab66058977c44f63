package io.cqrs.projector.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.stream.StreamEntryId;
import org.junit.jupiter.api.Test;

class GroupResetTests {

    @Test
    void theIdBeforeAnEntryOfASequenceIsThePreviousSequence() {
        assertThat(GroupReset.before(StreamEntryId.parse("1700000000000-5")))
                .isEqualTo(StreamEntryId.parse("1700000000000-4"));
    }

    @Test
    void theIdBeforeTheFirstOfAMillisecondIsTheLastThePreviousMillisecondCanHold() {
        var before = GroupReset.before(StreamEntryId.parse("1700000000000-0"));

        assertThat(before).isEqualTo(new StreamEntryId(1_699_999_999_999L, Long.MAX_VALUE));
        assertThat(before.next()).isEqualTo(StreamEntryId.parse("1700000000000-0"));
    }

    @Test
    void nothingLiesBeforeTheFirstId() {
        assertThat(GroupReset.before(StreamEntryId.parse("0-0"))).isEqualTo(StreamEntryId.parse("0-0"));
    }
}
