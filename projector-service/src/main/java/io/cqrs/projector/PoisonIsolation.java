package io.cqrs.projector;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Finds the items at fault when a store rejects a list of them together: halves the list and applies each half, and
 * halves again whatever is rejected, until each rejected item stands alone; everything else gets applied. A few bad
 * items among many cost a few attempts per halving step, not one attempt per item.
 */
final class PoisonIsolation {

    private PoisonIsolation() {}

    /**
     * @param applied what applying each sub-list returned, in list order
     * @param rejected the items rejected on their own, in list order, each with the failure that rejected it
     */
    record Isolated<T, R>(List<R> applied, List<Rejected<T>> rejected) {
        Isolated {
            applied = List.copyOf(applied);
            rejected = List.copyOf(rejected);
        }
    }

    record Rejected<T>(T item, RuntimeException failure) {}

    /**
     * Applies what can be applied of {@code items}, which were rejected together with {@code failure}.
     *
     * @param apply applies a sub-list, or throws
     * @param rejects whether a failure rejects the sub-list's data; any other failure propagates at once, and so does
     *     a rejection of an empty list, which no item can be blamed for
     */
    static <T, R> Isolated<T, R> isolate(
            List<T> items,
            RuntimeException failure,
            Function<List<T>, R> apply,
            Predicate<? super RuntimeException> rejects) {
        var applied = new ArrayList<R>();
        var rejected = new ArrayList<Rejected<T>>();
        halve(items, failure, apply, rejects, applied, rejected);
        return new Isolated<>(applied, rejected);
    }

    private static <T, R> void halve(
            List<T> items,
            RuntimeException failure,
            Function<List<T>, R> apply,
            Predicate<? super RuntimeException> rejects,
            List<R> applied,
            List<Rejected<T>> rejected) {
        if (items.isEmpty()) {
            throw failure;
        }
        if (items.size() == 1) {
            rejected.add(new Rejected<>(items.getFirst(), failure));
            return;
        }
        int half = items.size() / 2;
        for (List<T> part : List.of(items.subList(0, half), items.subList(half, items.size()))) {
            try {
                applied.add(apply.apply(part));
            } catch (RuntimeException e) {
                if (!rejects.test(e)) {
                    throw e;
                }
                halve(part, e, apply, rejects, applied, rejected);
            }
        }
    }
}
