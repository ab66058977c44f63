package io.cqrs.write.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.write.reconcile.Divergence.Kind;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KeyComparisonTests {

    static KeyRow row(String key, long version, long writeCount, boolean deleted) {
        return new KeyRow(key, version, writeCount, deleted);
    }

    // One key of each kind, and one only in the read model.
    private static final Map<String, KeyRow> MODEL = Map.of(
            "equal", row("equal", 2, 2, false),
            "behind", row("behind", 1, 1, false),
            "differs", row("differs", 2, 2, true),
            "ahead", row("ahead", 5, 5, false),
            "stray", row("stray", 1, 1, false));
    private static final List<KeyRow> TRUTH = List.of(
            row("equal", 2, 2, false),
            row("behind", 2, 2, false),
            row("differs", 2, 2, false),
            row("ahead", 3, 3, false),
            row("missing", 1, 1, false));

    @Test
    void namesTheRowsThatDifferAndCouldBeOnTheirWay() {
        assertThat(KeyComparison.differing(MODEL, TRUTH))
                .containsExactlyInAnyOrder(
                        row("behind", 2, 2, false), row("differs", 2, 2, false), row("missing", 1, 1, false));
    }

    @Test
    void findsEachKindOfDivergence() {
        var comparison = KeyComparison.of(MODEL, TRUTH, Set.of());

        assertThat(comparison.divergences())
                .containsExactlyInAnyOrder(
                        new Divergence("behind", Kind.BEHIND, 2L, 1L),
                        new Divergence("differs", Kind.DIFFERS, 2L, 2L),
                        new Divergence("ahead", Kind.AHEAD, 3L, 5L),
                        new Divergence("missing", Kind.MISSING, 1L, null),
                        new Divergence("stray", Kind.AHEAD, null, 1L));
        assertThat(comparison.inFlight()).isEmpty();
    }

    @Test
    void leavesKeysInFlightAloneButNeverOneAheadAndDoesNotCallThemConverged() {
        var model = Map.of("behind", row("behind", 1, 1, false), "ahead", row("ahead", 4, 4, false));
        var truth = List.of(row("behind", 2, 2, false), row("ahead", 3, 3, false), row("missing", 1, 1, false));

        var comparison = KeyComparison.of(model, truth, Set.of("behind", "ahead", "missing"));

        assertThat(comparison.divergences()).containsExactly(new Divergence("ahead", Kind.AHEAD, 3L, 4L));
        assertThat(comparison.inFlight()).containsOnly("behind", "missing");
        assertThat(comparison.converged(Set.of("behind", "ahead", "missing", "equal")))
                .as("in flight is not converged")
                .containsOnly("equal");
    }
}
