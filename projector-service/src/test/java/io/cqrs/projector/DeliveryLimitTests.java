package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.models.stream.PendingMessage;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class DeliveryLimitTests {

    final DeliveryLimit limit = new DeliveryLimit(5, Duration.ofSeconds(30), Duration.ofMinutes(10));

    @Test
    void suspectsOnlyEntriesDeliveredMoreOftenThanTheLimit() {
        assertThat(limit.suspect(1)).isFalse();
        assertThat(limit.suspect(5)).isFalse();
        assertThat(limit.suspect(6)).isTrue();
    }

    @Test
    void claimsAfterTheClaimIdleTimeUpToTheLimitThenDoublesItForEachDeliveryPastIt() {
        assertThat(limit.idleBeforeClaim(1)).isEqualTo(Duration.ofSeconds(30));
        assertThat(limit.idleBeforeClaim(5)).isEqualTo(Duration.ofSeconds(30));
        assertThat(limit.idleBeforeClaim(6)).isEqualTo(Duration.ofSeconds(60));
        assertThat(limit.idleBeforeClaim(7)).isEqualTo(Duration.ofSeconds(120));
        assertThat(limit.idleBeforeClaim(9)).isEqualTo(Duration.ofSeconds(480));
    }

    @Test
    void neverWaitsLongerThanTheMaximumHoweverOftenAnEntryWasDelivered() {
        assertThat(limit.idleBeforeClaim(10)).isEqualTo(Duration.ofMinutes(10));
        assertThat(limit.idleBeforeClaim(1_000)).isEqualTo(Duration.ofMinutes(10));
        assertThat(limit.idleBeforeClaim(Long.MAX_VALUE)).isEqualTo(Duration.ofMinutes(10));
    }

    @Test
    void neverWaitsLessThanTheClaimIdleTimeWhenTheMaximumIsBelowIt() {
        var odd = new DeliveryLimit(5, Duration.ofSeconds(30), Duration.ofSeconds(1));

        assertThat(odd.idleBeforeClaim(1)).isEqualTo(Duration.ofSeconds(30));
        assertThat(odd.idleBeforeClaim(8)).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void takesBackItsOwnEntriesAtOnceBelowTheLimitAndAfterTheBackoffFromIt() {
        assertThat(limit.idleBeforeReclaim(1)).isZero();
        assertThat(limit.idleBeforeReclaim(4)).isZero();
        assertThat(limit.idleBeforeReclaim(5)).isEqualTo(Duration.ofSeconds(30));
        assertThat(limit.idleBeforeReclaim(7)).isEqualTo(Duration.ofSeconds(120));
    }

    @Test
    void picksTheEntriesIdleForTheirWaitAndTheLeastIdleTimeAmongThem() {
        var pending = List.of(
                new PendingMessage("1-0", "dead", 31_000, 1),
                new PendingMessage("2-0", "dead", 31_000, 6), // needs 60 s
                new PendingMessage("3-0", "dead", 90_000, 6),
                new PendingMessage("4-0", "dead", 45_000, 2));

        var due = DeliveryLimit.due(pending, limit::idleBeforeClaim);

        assertThat(due.ids()).containsExactly("1-0", "3-0", "4-0");
        assertThat(due.leastIdle()).isEqualTo(Duration.ofSeconds(31));
    }

    @Test
    void picksNothingWhenEveryEntryIsBackingOff() {
        var due = DeliveryLimit.due(List.of(new PendingMessage("1-0", "dead", 31_000, 9)), limit::idleBeforeClaim);

        assertThat(due.ids()).isEmpty();
    }
}
