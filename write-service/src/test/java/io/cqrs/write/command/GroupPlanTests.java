package io.cqrs.write.command;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.write.command.GroupPlan.NumberedCommand;
import io.cqrs.write.command.PendingUnit.IdempotencyClaim;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GroupPlanTests {

    @Test
    void numbersCommandsOnOneKeyGapFreeInArrivalOrder() {
        var plan = GroupPlan.of(
                List.of(unit(Command.write("k", "a")), unit(Command.write("k", "b")), unit(Command.write("k", "c"))),
                Map.of("k", new KeyState("k", 4, 3, false)));

        assertThat(plan.commands())
                .extracting(NumberedCommand::version, NumberedCommand::writeCount)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(5L, 4L),
                        org.assertj.core.groups.Tuple.tuple(6L, 5L),
                        org.assertj.core.groups.Tuple.tuple(7L, 6L));
        assertThat(plan.changedKeys()).containsExactly(new KeyState("k", 7, 6, false));
        assertThat(plan.newKeys()).isEmpty();
    }

    @Test
    void startsNewKeysAtVersionOne() {
        var plan = GroupPlan.of(List.of(unit(Command.write("new", "v"))), Map.of());

        assertThat(plan.commands().getFirst().version()).isEqualTo(1);
        assertThat(plan.newKeys()).containsExactly(new KeyState("new", 1, 1, false));
    }

    @Test
    void continuesAboveTheVersionTheReadModelIsAheadAtForKeysOldAndNew() {
        var plan = GroupPlan.of(
                List.of(
                        unit(Command.write("old", "a")),
                        unit(Command.write("old", "b")),
                        unit(Command.write("gone", "c"))),
                Map.of("old", new KeyState("old", 3, 3, false)),
                Map.of("old", 7L, "gone", 4L));

        assertThat(plan.commands())
                .extracting(NumberedCommand::version, NumberedCommand::writeCount)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(8L, 4L),
                        org.assertj.core.groups.Tuple.tuple(9L, 5L),
                        org.assertj.core.groups.Tuple.tuple(5L, 1L));
        assertThat(plan.changedKeys()).containsExactly(new KeyState("old", 9, 5, false));
        assertThat(plan.newKeys()).containsExactly(new KeyState("gone", 5, 1, false));
    }

    @Test
    void deleteTakesAVersionButKeepsTheWriteCount() {
        var plan = GroupPlan.of(List.of(unit(Command.delete("k"))), Map.of("k", new KeyState("k", 2, 2, false)));

        assertThat(plan.commands().getFirst().version()).isEqualTo(3);
        assertThat(plan.commands().getFirst().writeCount()).isEqualTo(2);
        assertThat(plan.changedKeys()).containsExactly(new KeyState("k", 3, 2, true));
    }

    @Test
    void refusesADeleteOfAKeyNeverWrittenWithoutTouchingTheRestOfTheGroup() {
        var refused = unit(Command.delete("ghost"));
        var plan = GroupPlan.of(List.of(unit(Command.write("k", "v")), refused), Map.of());

        assertThat(plan.steps().get(1).nothingToDelete()).isEqualTo("ghost");
        assertThat(plan.commands()).hasSize(1);
        assertThat(plan.newKeys()).extracting(KeyState::key).containsExactly("k");
    }

    @Test
    void refusesADeleteOfAnAlreadyDeletedKey() {
        var plan = GroupPlan.of(List.of(unit(Command.delete("k"))), Map.of("k", new KeyState("k", 3, 2, true)));

        assertThat(plan.steps().getFirst().nothingToDelete()).isEqualTo("k");
        assertThat(plan.changedKeys()).isEmpty();
    }

    @Test
    void seesEarlierCommandsOfTheSameGroup() {
        var plan = GroupPlan.of(
                List.of(unit(Command.write("k", "v")), unit(Command.delete("k")), unit(Command.write("k", "again"))),
                Map.of());

        assertThat(plan.commands()).extracting(NumberedCommand::version).containsExactly(1L, 2L, 3L);
        assertThat(plan.newKeys()).containsExactly(new KeyState("k", 3, 2, false));
    }

    @Test
    void carriesTheIdempotencyKeyOntoEveryCommandOfItsUnit() {
        var batch = new PendingUnit(
                List.of(Command.write("a", "1"), Command.write("b", "2")), new IdempotencyClaim("retry-1", "hash"));

        var plan = GroupPlan.of(List.of(batch), Map.of());

        assertThat(plan.commands()).extracting(NumberedCommand::idempotencyKey).containsOnly("retry-1");
    }

    private static PendingUnit unit(Command command) {
        return new PendingUnit(List.of(command), null);
    }
}
