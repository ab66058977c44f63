package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.events.RecordChanges.Change;
import io.cqrs.events.RecordDeleted;
import io.cqrs.events.RecordEvent;
import io.cqrs.events.RecordWritten;
import io.cqrs.projector.ProjectionBatch.Backdate;
import io.cqrs.projector.ProjectionBatch.Stored;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProjectionBatchTests {

    static final Instant T0 = Instant.parse("2026-11-21T10:00:00.000001Z");

    static RecordWritten written(String key, long version, long writeCount) {
        return new RecordWritten(version * 10, key, key + "@" + version, version, writeCount, T0.plusSeconds(version));
    }

    static RecordDeleted deleted(String key, long version, long writeCount) {
        return new RecordDeleted(version * 10, key, version, writeCount, T0.plusSeconds(version));
    }

    static ProjectionBatch.Plan plan(Map<String, Stored> stored, RecordEvent... events) {
        return ProjectionBatch.fold(List.of(events)).plan(stored);
    }

    @Test
    void writesOnlyTheNewestVersionOfEachKeyAndCountsEveryNewerEventAsApplied() {
        var plan = plan(Map.of(), written("a", 1, 1), written("a", 3, 3), written("a", 2, 2));

        var parameters = plan.rows().parameters();
        assertThat((String[]) parameters[0]).containsExactly("a");
        assertThat((String[]) parameters[1]).containsExactly("a@3");
        assertThat((long[]) parameters[2]).containsExactly(3);
        assertThat((long[]) parameters[3]).containsExactly(3);
        assertThat((boolean[]) parameters[4]).containsExactly(false);
        assertThat((String[]) parameters[5]).containsExactly(T0.plusSeconds(1).toString());
        assertThat((String[]) parameters[6]).containsExactly(T0.plusSeconds(3).toString());
        assertThat((long[]) parameters[7]).containsExactly(30);
        assertThat(plan.applied()).isEqualTo(3);
        assertThat(plan.stale()).isZero();
        assertThat(plan.appliedOccurredAt()).hasSize(3);
    }

    @Test
    void givesARebuildsShadowEveryKeysNewestEventWhateverTheLiveTableHolds() {
        var batch = ProjectionBatch.fold(List.of(written("b", 2, 2), deleted("a", 2, 1), written("a", 1, 1)));
        // The live table holds both keys ahead: its plan writes nothing, the shadow still gets both keys.
        var stored = Map.of("a", new Stored(9, false, 9, T0), "b", new Stored(9, false, 9, T0));

        assertThat(batch.plan(stored).rows().keys()).isEmpty();
        var parameters = batch.newest().parameters();
        assertThat((String[]) parameters[0]).containsExactly("a", "b");
        assertThat((String[]) parameters[1]).containsExactly(null, "b@2");
        assertThat((long[]) parameters[2]).containsExactly(2, 2);
        assertThat((boolean[]) parameters[4]).containsExactly(true, false);
        assertThat((String[]) parameters[5])
                .containsExactly(T0.plusSeconds(1).toString(), T0.plusSeconds(2).toString());
    }

    @Test
    void countsDuplicatesAndVersionsNotNewerThanTheStoredOneAsStale() {
        var stored = Map.of("a", new Stored(2, false, 2, T0.plusSeconds(1)));

        var plan = plan(stored, written("a", 1, 1), written("a", 2, 2), written("a", 3, 3), written("a", 3, 3));

        assertThat(plan.applied()).isEqualTo(1);
        assertThat(plan.stale()).isEqualTo(3);
        assertThat(plan.rows().keys()).containsExactly("a");
        assertThat(plan.changes()).containsExactly(new Change("a", 3));
        assertThat(plan.totalWritesDelta()).isEqualTo(1);
        assertThat(plan.recordsDelta()).isZero();
    }

    @Test
    void writesATombstoneForADelete() {
        var stored = Map.of("a", new Stored(1, false, 1, T0.plusSeconds(1)));

        var plan = plan(stored, deleted("a", 2, 1));

        var parameters = plan.rows().parameters();
        assertThat((String[]) parameters[1]).containsExactly((String) null);
        assertThat((boolean[]) parameters[4]).containsExactly(true);
        assertThat(plan.recordsDelta()).isEqualTo(-1);
        assertThat(plan.totalWritesDelta()).isZero();
        assertThat(plan.changes()).containsExactly(new Change("a", 2));
    }

    @Test
    void leavesATombstoneAloneWhenAnOlderWriteArrivesLate() {
        var stored = Map.of("a", new Stored(4, true, 2, T0.plusSeconds(1)));

        var plan = plan(stored, written("a", 3, 2));

        assertThat(plan.rows().size()).isZero();
        assertThat(plan.changes()).isEmpty();
        assertThat(plan.stale()).isEqualTo(1);
        assertThat(plan.recordsDelta()).isZero();
        assertThat(plan.totalWritesDelta()).isZero();
    }

    @Test
    void keepsTheDeleteWhenTheOlderWriteIsInTheSameBatch() {
        var plan = plan(Map.of(), deleted("a", 2, 1), written("a", 1, 1));

        assertThat((boolean[]) plan.rows().parameters()[4]).containsExactly(true);
        assertThat(plan.recordsDelta()).isZero();
        assertThat(plan.totalWritesDelta()).isEqualTo(1);
        assertThat(plan.applied()).isEqualTo(2);
    }

    @Test
    void countsANewKeyAsARecordWithItsWrites() {
        var plan = plan(Map.of(), written("a", 2, 2));

        assertThat(plan.recordsDelta()).isEqualTo(1);
        assertThat(plan.totalWritesDelta()).isEqualTo(2);
    }

    @Test
    void countsAKeyWrittenAgainAfterItsDeleteAsLiveAgain() {
        var stored = Map.of("a", new Stored(2, true, 1, T0.plusSeconds(1)));

        var plan = plan(stored, written("a", 3, 2));

        assertThat(plan.recordsDelta()).isEqualTo(1);
        assertThat(plan.totalWritesDelta()).isEqualTo(1);
    }

    @Test
    void movesTheCreationTimeBackWhenAnOlderEventArrivesLate() {
        var stored = Map.of("a", new Stored(3, false, 3, T0.plusSeconds(3)));

        var plan = plan(stored, written("a", 1, 1));

        assertThat(plan.rows().size()).isZero();
        assertThat(plan.backdated()).containsExactly(new Backdate("a", T0.plusSeconds(1)));
    }

    @Test
    void ordersRowsAndChangesByKey() {
        var plan = plan(Map.of(), written("c", 1, 1), written("a", 1, 1), written("b", 1, 1));

        assertThat(plan.rows().keys()).containsExactly("a", "b", "c");
        assertThat(plan.changes()).extracting(Change::key).containsExactly("a", "b", "c");
    }

    @Test
    void plansNothingForAnEmptyBatch() {
        var batch = ProjectionBatch.fold(List.of());

        assertThat(batch.isEmpty()).isTrue();
        var plan = batch.plan(Map.of());
        assertThat(plan.rows().size()).isZero();
        assertThat(plan.applied() + plan.stale()).isZero();
    }

    @Test
    void rewritesARowChangedOutsideTheProjectionWhenItsOwnVersionComesAgainWithoutMovingCounters() {
        var stored = Map.of(
                "edited", new Stored(2, false, 9, T0.plusSeconds(1)),
                "intact", new Stored(2, false, 2, T0.plusSeconds(1)));

        var plan = plan(stored, written("edited", 2, 2), written("intact", 2, 2));

        assertThat(plan.rows().keys()).containsExactly("edited");
        assertThat((long[]) plan.rows().parameters()[3]).containsExactly(2);
        assertThat(plan.totalWritesDelta()).isZero();
        assertThat(plan.recordsDelta()).isZero();
        assertThat(plan.applied()).isZero();
        assertThat(plan.stale()).isEqualTo(2);
    }
}
