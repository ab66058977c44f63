package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cqrs.projector.PoisonIsolation.Rejected;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PoisonIsolationTests {

    /** A store that rejects any list holding one of the bad items, and remembers what it stored. */
    static class Store {
        final Set<Integer> bad;
        final List<Integer> stored = new ArrayList<>();
        int attempts;

        Store(Integer... bad) {
            this.bad = Set.of(bad);
        }

        Integer apply(List<Integer> items) {
            attempts++;
            for (Integer item : items) {
                if (bad.contains(item)) {
                    throw new Rejection("rejected " + item);
                }
            }
            stored.addAll(items);
            return items.size();
        }
    }

    static final class Rejection extends RuntimeException {
        Rejection(String message) {
            super(message);
        }
    }

    static List<Integer> items(int count) {
        return IntStream.range(0, count).boxed().toList();
    }

    static PoisonIsolation.Isolated<Integer, Integer> isolate(List<Integer> items, Store store) {
        RuntimeException failure = new Rejection("rejected together");
        return PoisonIsolation.isolate(items, failure, store::apply, Rejection.class::isInstance);
    }

    @Test
    void appliesEverythingButTheOneBadItem() {
        var store = new Store(37);

        var isolated = isolate(items(100), store);

        assertThat(isolated.rejected()).extracting(Rejected::item).containsExactly(37);
        assertThat(isolated.rejected().getFirst().failure()).hasMessage("rejected 37");
        assertThat(store.stored).hasSize(99).doesNotContain(37).isSorted();
        assertThat(isolated.applied().stream().mapToInt(Integer::intValue).sum())
                .isEqualTo(99);
        // Two attempts per halving step, not one per item.
        assertThat(store.attempts).isLessThanOrEqualTo(2 * 7);
    }

    @Test
    void isolatesSeveralBadItemsInListOrder() {
        var store = new Store(0, 50, 51, 99);

        var isolated = isolate(items(100), store);

        assertThat(isolated.rejected()).extracting(Rejected::item).containsExactly(0, 50, 51, 99);
        assertThat(store.stored).hasSize(96).doesNotContain(0, 50, 51, 99).isSorted();
    }

    @Test
    void rejectsEveryItemWhenAllAreBad() {
        var store = new Store(0, 1, 2, 3, 4);

        var isolated = isolate(items(5), store);

        assertThat(isolated.rejected()).extracting(Rejected::item).containsExactly(0, 1, 2, 3, 4);
        assertThat(isolated.applied()).isEmpty();
        assertThat(store.stored).isEmpty();
    }

    @Test
    void rejectsASingleItemWithTheFailureItWasRejectedWith() {
        var failure = new Rejection("alone");

        var isolated = PoisonIsolation.isolate(List.of(7), failure, items -> 1, Rejection.class::isInstance);

        assertThat(isolated.rejected()).containsExactly(new Rejected<>(7, failure));
        assertThat(isolated.applied()).isEmpty();
    }

    @Test
    void letsAFailureThatIsNoRejectionPropagate() {
        var outage = new IllegalStateException("store unavailable");
        var store = new Store(3) {
            @Override
            Integer apply(List<Integer> items) {
                if (items.contains(6)) {
                    throw outage;
                }
                return super.apply(items);
            }
        };

        assertThatThrownBy(() -> isolate(items(8), store)).isSameAs(outage);
    }

    @Test
    void blamesNoItemOfAnEmptyList() {
        var failure = new Rejection("no items");

        assertThatThrownBy(() -> PoisonIsolation.isolate(List.<Integer>of(), failure, items -> 0, e -> true))
                .isSameAs(failure);
    }
}
