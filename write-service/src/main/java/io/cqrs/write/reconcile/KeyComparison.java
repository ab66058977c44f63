package io.cqrs.write.reconcile;

import io.cqrs.write.reconcile.Divergence.Kind;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Compares the two sides' rows of a set of keys. The read model's rows must have been read before the write
 * database's: versions only grow, and the projector applies only what the write database committed, so read in that
 * order a read-model version above the write database's is never a write in flight but a real divergence.
 *
 * @param divergences the keys that differ, settled ones only (plus every key ahead: nothing in flight explains that)
 * @param inFlight keys that differ but changed too recently to tell a divergence from the projection lag (a repair on
 *     its way included): neither diverged nor converged
 */
record KeyComparison(List<Divergence> divergences, Set<String> inFlight) {

    KeyComparison {
        divergences = List.copyOf(divergences);
        inFlight = Set.copyOf(inFlight);
    }

    /**
     * @param model the read model's rows, by key
     * @param truth the write database's rows
     * @param unsettled keys whose latest command may still be on its way to the read model: changed, or published,
     *     within the projection lag plus the settle margin (only those among the differing keys matter)
     */
    static KeyComparison of(Map<String, KeyRow> model, List<KeyRow> truth, Set<String> unsettled) {
        var divergences = new ArrayList<Divergence>();
        var inFlight = new HashSet<String>();
        Map<String, KeyRow> onlyInModel = new HashMap<>(model);
        for (KeyRow expected : truth) {
            KeyRow actual = onlyInModel.remove(expected.key());
            Kind kind = kind(expected, actual);
            if (kind == null) {
                continue;
            }
            if (kind != Kind.AHEAD && unsettled.contains(expected.key())) {
                inFlight.add(expected.key());
                continue;
            }
            divergences.add(
                    new Divergence(expected.key(), kind, expected.version(), actual == null ? null : actual.version()));
        }
        for (KeyRow stray : onlyInModel.values()) {
            divergences.add(new Divergence(stray.key(), Kind.AHEAD, null, stray.version()));
        }
        return new KeyComparison(divergences, inFlight);
    }

    /**
     * The rows of {@code truth} the read model does not match and that could be on their way to it (missing, behind or
     * different; a key ahead is never in flight): those whose settling {@link #of} needs to know.
     */
    static List<KeyRow> differing(Map<String, KeyRow> model, List<KeyRow> truth) {
        var differing = new ArrayList<KeyRow>();
        for (KeyRow expected : truth) {
            Kind kind = kind(expected, model.get(expected.key()));
            if (kind != null && kind != Kind.AHEAD) {
                differing.add(expected);
            }
        }
        return differing;
    }

    /** The keys that compared equal, out of {@code keys}: those no longer diverged. */
    Set<String> converged(Set<String> keys) {
        var converged = new HashSet<>(keys);
        divergences.forEach(d -> converged.remove(d.key()));
        converged.removeAll(inFlight);
        return converged;
    }

    private static @Nullable Kind kind(KeyRow expected, @Nullable KeyRow actual) {
        if (actual == null) {
            return Kind.MISSING;
        }
        if (actual.version() < expected.version()) {
            return Kind.BEHIND;
        }
        if (actual.version() > expected.version()) {
            return Kind.AHEAD;
        }
        return actual.sameStateAs(expected) ? null : Kind.DIFFERS;
    }
}
