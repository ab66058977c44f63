package io.cqrs.read.changes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ReplayFenceTests {

    @Test
    void walPositionsCompareAsPostgreSqlOrdersThem() {
        assertThat(ReplayFence.parseLsn("0/0")).isZero();
        assertThat(ReplayFence.parseLsn("0/16B3748")).isEqualTo(0x16B3748L);
        assertThat(ReplayFence.parseLsn("16/B374D848")).isEqualTo((0x16L << 32) | 0xB374D848L);
        // The low half is unsigned: FFFFFFFF in it stays below the next high half.
        assertThat(ReplayFence.parseLsn("1/FFFFFFFF")).isLessThan(ReplayFence.parseLsn("2/0"));
        assertThat(ReplayFence.parseLsn("0/FFFFFFFF")).isPositive();
    }

    @Test
    void refusesWhatIsNotAPosition() {
        assertThatThrownBy(() -> ReplayFence.parseLsn("16B374D848")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ReplayFence.parseLsn("/1")).isInstanceOf(IllegalArgumentException.class);
    }
}
