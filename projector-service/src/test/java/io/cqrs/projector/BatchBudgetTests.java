package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.events.EventCodec;
import io.cqrs.events.RecordWritten;
import io.lettuce.core.StreamMessage;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class BatchBudgetTests {

    private static final long MB = 1024 * 1024;
    private static final long LARGEST = BatchBudget.largestEntry(65536);

    private final AtomicInteger oversized = new AtomicInteger();
    private int ids;

    @Test
    void expectsTheLargestEntryToTakeTwoBytesPerCharacterOfTheLongestKeyAndValue() {
        assertThat(LARGEST).isBetween(2L * 65536 + 2 * 510, 2L * 65536 + 4096);
        assertThat(BatchBudget.largestEntry(1024)).isLessThan(LARGEST - 2 * 64_000);
    }

    @Test
    void countsAnEntryAtTwoBytesPerCharacterPlusTheObjectsAroundIt() {
        var small = entry(10);
        var large = entry(10_010);
        assertThat(BatchBudget.sizeOf(large) - BatchBudget.sizeOf(small)).isEqualTo(20_000);
        assertThat(BatchBudget.sizeOf(small)).isBetween(500L, 2000L);
    }

    @Test
    void keepsTheEntryCapForSmallEntriesAtTheCostOfMoreReads() {
        var budget = budget(8000, 32 * MB);

        var filled = readAll(budget, () -> entry(10), Integer.MAX_VALUE);

        assertThat(filled.batch().entries()).hasSize(8000);
        assertThat(filled.batch().full())
                .as("ended by the entry cap: more may wait")
                .isTrue();
        // Each read asks for as many entries as fit were they all of the largest size: 254 at first, fewer later.
        assertThat(filled.reads()).isBetween(32, 64);
    }

    @Test
    void shrinksABatchOfLargeEntriesToTheBudgetWhateverTheyHold() {
        var budget = budget(8000, 32 * MB);

        var largest = readAll(budget, () -> entry(65536), Integer.MAX_VALUE);

        assertThat(largest.batch().bytes()).isLessThanOrEqualTo(32 * MB).isGreaterThan(32 * MB - LARGEST);
        assertThat(largest.batch().entries()).hasSizeLessThan(300);
        assertThat(largest.batch().full()).isTrue();
        assertThat(largest.reads())
                .as("nearly as large as expected: all but one or two in the first read")
                .isBetween(1, 2);
        assertThat(oversized).hasValue(0);

        var half = readAll(budget, () -> entry(32768), Integer.MAX_VALUE);
        assertThat(half.batch().bytes()).isLessThanOrEqualTo(32 * MB).isGreaterThan(32 * MB - LARGEST);
        assertThat(half.batch().entries()).hasSizeGreaterThan(400);
    }

    @Test
    void endsTheBatchWhenAReadComesBackShort() {
        var budget = budget(8000, 32 * MB);

        var filled = readAll(budget, () -> entry(10), 300);

        assertThat(filled.batch().entries()).hasSize(300);
        assertThat(filled.batch().full()).as("ran dry: nothing to read ahead").isFalse();
        assertThat(filled.reads()).isEqualTo(2);
    }

    @Test
    void givesAnEmptyBatchRoomForOneEntryEvenWhenTheBudgetCannotHoldTheLargest() {
        var budget = budget(8000, LARGEST / 2);
        var fill = budget.fill();

        assertThat(fill.room()).isEqualTo(1);
        fill.add(List.of(entry(65536)));
        assertThat(fill.room()).isZero();
        assertThat(fill.batch().full()).isTrue();
    }

    @Test
    void countsAnEntryLargerThanExpectedAtItsSizeAndAsksForFewerFromThenOn() {
        var budget = budget(8000, 32 * MB);
        var fill = budget.fill();
        int before = fill.room();

        fill.add(List.of(entry(1_000_000)));

        assertThat(oversized).hasValue(1);
        assertThat(fill.batch().bytes()).isGreaterThan(2_000_000);
        long largestSeen = BatchBudget.sizeOf(entry(1_000_000));
        assertThat(fill.room()).isEqualTo((int) ((32 * MB - fill.batch().bytes()) / largestSeen));
        assertThat(budget.fill().room()).isLessThan(before).isEqualTo((int) (32 * MB / largestSeen));

        budget.fill().add(List.of(entry(1_000_000), entry(10)));
        assertThat(oversized).as("every oversized entry counted, only those").hasValue(2);
    }

    private BatchBudget budget(int maxEntries, long maxBytes) {
        return new BatchBudget(maxEntries, maxBytes, LARGEST, oversized::incrementAndGet);
    }

    private record Filled(BatchBudget.Batch batch, int reads) {}

    /** Reads as StreamGroup does, from a stream of {@code available} entries made by {@code next}. */
    private static Filled readAll(
            BatchBudget budget, java.util.function.Supplier<StreamMessage<String, String>> next, int available) {
        var fill = budget.fill();
        int left = available;
        do {
            int asked = fill.room();
            var read = new ArrayList<StreamMessage<String, String>>();
            while (read.size() < asked && left > 0) {
                read.add(next.get());
                left--;
            }
            fill.add(read);
            if (read.size() < asked) {
                fill.ranDry();
            }
        } while (fill.wantsMore());
        return new Filled(fill.batch(), fill.reads());
    }

    /** A written event whose value is {@code valueLength} characters long, under a 20-character key. */
    private StreamMessage<String, String> entry(int valueLength) {
        ids++;
        var event = new RecordWritten(
                ids, "key-%016d".formatted(ids), "v".repeat(valueLength), 1, 1, Instant.parse("2026-11-28T10:00:00Z"));
        return new StreamMessage<>("events", "1795872953461-" + ids, EventCodec.encode(event));
    }
}
