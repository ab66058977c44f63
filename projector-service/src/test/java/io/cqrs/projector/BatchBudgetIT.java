package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.events.EventCodec;
import io.cqrs.events.RecordEvent;
import io.lettuce.core.Consumer;
import io.lettuce.core.XReadArgs;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * Batches of large entries, read or claimed, stay within the byte budget (the shared context's 2MB: about 15 entries of
 * the largest size the write limits allow), and every entry is projected.
 */
class BatchBudgetIT extends ProjectorTestSupport {

    // Values of 32,768 characters: an entry of about 65 KB estimated, so 60 of them need two batches at least.
    private static final int VALUE_LENGTH = 32_768;
    private static final int ENTRIES = 60;

    @Autowired
    StreamConsumer consumer;

    @Test
    void readsABacklogOfLargeEntriesInBatchesWithinTheBudget() {
        awaitProjected();
        var before = batchBytes();
        consumer.stop();
        try {
            publish(largeWrites("backlog"));
        } finally {
            consumer.start();
        }

        awaitProjected();

        assertThat(rows(prefix + "backlog/")).hasSize(ENTRIES);
        assertSplitWithinTheBudget(before, batchBytes());
        assertCountersMatchRows();
    }

    @Test
    void claimsLargeEntriesADeadConsumerLeftInBatchesWithinTheBudget() {
        awaitProjected();
        var before = batchBytes();
        double claimedBefore = count("cqrs.projector.claimed");
        // Read by a consumer that died before it applied them, in one MULTI/EXEC so that ours never sees them first.
        redis.multi();
        largeWrites("orphan").forEach(event -> redis.xadd(stream.name(), EventCodec.encode(event)));
        redis.xreadgroup(
                Consumer.from(group(), "crashed-consumer"),
                XReadArgs.Builder.count(ENTRIES),
                XReadArgs.StreamOffset.lastConsumed(stream.name()));
        assertThat(redis.exec().wasDiscarded()).isFalse();

        awaitProjected();

        assertThat(rows(prefix + "orphan/")).hasSize(ENTRIES);
        assertThat(count("cqrs.projector.claimed") - claimedBefore).isEqualTo(ENTRIES);
        assertSplitWithinTheBudget(before, batchBytes());
        assertCountersMatchRows();
    }

    @Test
    void projectsAnEntryLargerThanTheWriteLimitsAllowAndCountsIt() {
        awaitProjected();
        double oversizedBefore = count("cqrs.projector.oversized.entries");
        // A producer other than the write service, or one with a higher limit than the projector was told.
        String value = "x".repeat(properties.projector().maxValueBytes() + 4096);

        publish(List.of(written(prefix + "small", 1, 1), written(prefix + "oversized", value, 1, 1)));
        awaitProjected();

        assertThat(row(prefix + "oversized"))
                .hasValueSatisfying(r -> assertThat(r.value()).isEqualTo(value));
        assertThat(row(prefix + "small")).isPresent();
        assertThat(count("cqrs.projector.oversized.entries") - oversizedBefore).isEqualTo(1);
    }

    private List<RecordEvent> largeWrites(String name) {
        return IntStream.range(0, ENTRIES)
                .mapToObj(i -> (RecordEvent) written(
                        prefix + name + "/" + i, (i + "x".repeat(VALUE_LENGTH)).substring(0, VALUE_LENGTH), 1, 1))
                .toList();
    }

    private record Summary(long count, double total, double max) {}

    private Summary batchBytes() {
        HistogramSnapshot snapshot =
                meters.get("cqrs.projector.batch").summary().takeSnapshot();
        return new Summary(snapshot.count(), snapshot.total(), snapshot.max());
    }

    /** Their values alone take more than the budget: they came in several batches, none larger than the budget. */
    private void assertSplitWithinTheBudget(Summary before, Summary after) {
        long budget = properties.projector().batchMaxBytes().toBytes();
        long values = 2L * VALUE_LENGTH * ENTRIES;
        assertThat(after.total() - before.total())
                .as("bytes of the batches applied")
                .isGreaterThan(values);
        assertThat(after.count() - before.count())
                .as("batches applied")
                .isGreaterThanOrEqualTo((values + budget - 1) / budget);
        assertThat(after.max()).as("the largest batch lately").isLessThanOrEqualTo(budget);
    }
}
