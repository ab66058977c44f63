package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.events.EventCodec;
import io.cqrs.events.EventStreams;
import io.cqrs.events.RecordEvent;
import io.cqrs.stream.LazyRedisConnection;
import io.lettuce.core.Consumer;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XReadArgs;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.util.backoff.ExponentialBackOff;

/**
 * One batch in, start to finish: entries a consumer of a real group holds pending go to the {@link BatchApplier}, and
 * come out as rows, dead letters, acknowledgements and counters. The stream is one of the test's own, which the running
 * consumer does not read; the read database is the one it shares, so counters are measured as differences.
 */
class BatchApplierIT extends ProjectorTestSupport {

    static final String GROUP = "batch-applier-test";
    static final String CONSUMER = "applier-under-test";

    @Autowired
    BatchApplier batches;

    @Autowired
    LazyRedisConnection sharedRedis;

    final Retry retry = new Retry(new ExponentialBackOff(10, 2.0));
    String side;
    StreamGroup group;

    @BeforeEach
    void createGroup() {
        awaitProjected();
        side = stream.name() + ":" + prefix;
        group = new StreamGroup(sharedRedis, side, GROUP, CONSUMER);
        group.create();
    }

    @AfterEach
    void deleteStream() {
        redis.del(side, EventStreams.deadLetterStream(side));
    }

    /** Adds the entries to the stream and delivers them to the test's consumer, which then holds them pending. */
    List<StreamMessage<String, String>> deliver(List<Map<String, String>> entries) {
        for (var fields : entries) {
            redis.xadd(side, fields);
        }
        return redis.xreadgroup(
                Consumer.from(GROUP, CONSUMER),
                XReadArgs.Builder.count(entries.size()),
                XReadArgs.StreamOffset.lastConsumed(side));
    }

    List<StreamMessage<String, String>> deliverEvents(List<? extends RecordEvent> events) {
        return deliver(events.stream().map(EventCodec::encode).toList());
    }

    long pending() {
        return redis.xpending(side, GROUP).getCount();
    }

    static List<String> ids(List<StreamMessage<String, String>> entries) {
        return entries.stream().map(StreamMessage::getId).toList();
    }

    @Test
    void appliesValidEntriesAndAcknowledgesThemAll() {
        var before = state();
        double appliedBefore = events("applied");
        var entries = deliverEvents(
                List.of(written(prefix + "a", 1, 1), written(prefix + "a", 2, 2), written(prefix + "b", 1, 1)));

        batches.apply(group, entries, false, retry);

        assertThat(row(prefix + "a"))
                .hasValueSatisfying(r -> assertThat(r.version()).isEqualTo(2));
        assertThat(row(prefix + "b"))
                .hasValueSatisfying(r -> assertThat(r.version()).isEqualTo(1));
        assertThat(pending()).isZero();
        var after = state();
        assertThat(after.applied() - before.applied()).isEqualTo(3);
        assertThat(after.stale()).isEqualTo(before.stale());
        assertThat(after.deadLettered()).isEqualTo(before.deadLettered());
        assertThat(events("applied") - appliedBefore).isEqualTo(3);
        assertThat(deadLetters(side, ids(entries))).isEmpty();
        assertCountersMatchRows();
    }

    @Test
    void countsADuplicateAsStaleAndLeavesTheRowAsItWas() {
        var event = written(prefix + "dup", 1, 1);
        batches.apply(group, deliverEvents(List.of(event)), false, retry);
        var first = row(prefix + "dup").orElseThrow();
        var before = state();
        double staleBefore = events("stale");

        batches.apply(group, deliverEvents(List.of(event)), false, retry);

        assertThat(row(prefix + "dup")).contains(first);
        assertThat(pending()).isZero();
        var after = state();
        assertThat(after.stale() - before.stale()).isEqualTo(1);
        assertThat(after.applied()).isEqualTo(before.applied());
        assertThat(events("stale") - staleBefore).isEqualTo(1);
    }

    @Test
    void deadLettersAMalformedEntryAndAppliesTheOthers() {
        var before = state();
        double deadBefore = events("dead_lettered");
        var entries = deliver(List.of(Map.of("foo", "bar"), EventCodec.encode(written(prefix + "good", 1, 1))));

        batches.apply(group, entries, false, retry);

        var dead = deadLetters(side, ids(entries));
        assertThat(dead).containsOnlyKeys(entries.getFirst().getId());
        assertThat(dead.get(entries.getFirst().getId()))
                .containsEntry("foo", "bar")
                .containsEntry(StreamGroup.DLQ_PROBLEM, "MISSING_FIELD")
                .containsEntry(StreamGroup.DLQ_DELIVERIES, "1")
                .containsEntry(StreamGroup.DLQ_CONSUMER, CONSUMER)
                .containsKey(StreamGroup.DLQ_REASON);
        assertThat(row(prefix + "good")).isPresent();
        assertThat(pending()).isZero();
        var after = state();
        assertThat(after.deadLettered() - before.deadLettered()).isEqualTo(1);
        assertThat(after.applied() - before.applied()).isEqualTo(1);
        assertThat(events("dead_lettered") - deadBefore).isEqualTo(1);
    }

    @Test
    void appliesAValidEntryDeliveredMoreOftenThanAllowedAloneAndAcknowledgesIt() {
        int limit = properties.projector().maxDeliveries();
        var entries = deliverEvents(List.of(
                written(prefix + "suspect", 1, 1), written(prefix + "tried", 1, 1), written(prefix + "fresh", 1, 1)));
        // Consumers crashed holding the first one (and not because of it): delivered once more than allowed. The second
        // was delivered as often as allowed, the third once.
        redeliver(side, GROUP, CONSUMER, entries.get(0).getId(), limit);
        redeliver(side, GROUP, CONSUMER, entries.get(1).getId(), limit - 1);
        var before = state();
        double suspectsBefore = count("cqrs.projector.suspect.entries");
        var batchesBefore = batchSizes();

        batches.apply(group, entries, true, retry);

        assertThat(row(prefix + "suspect"))
                .hasValueSatisfying(r -> assertThat(r.version()).isEqualTo(1));
        assertThat(row(prefix + "tried")).isPresent();
        assertThat(row(prefix + "fresh")).isPresent();
        assertThat(deadLetters(side, ids(entries))).isEmpty();
        assertThat(pending()).isZero();
        var after = state();
        assertThat(after.applied() - before.applied()).isEqualTo(3);
        assertThat(after.deadLettered()).isEqualTo(before.deadLettered());
        assertThat(count("cqrs.projector.suspect.entries") - suspectsBefore).isEqualTo(1);
        // Two batches: the other two together, then the suspect alone.
        var batchesAfter = batchSizes();
        assertThat(batchesAfter.count() - batchesBefore.count()).isEqualTo(2);
        assertThat(batchesAfter.totalAmount() - batchesBefore.totalAmount()).isEqualTo(3);
        assertCountersMatchRows();
    }

    @Test
    void deadLettersAMalformedEntryWhateverItsDeliveryCount() {
        int limit = properties.projector().maxDeliveries();
        var entries = deliver(List.of(Map.of("foo", "bar"), EventCodec.encode(written(prefix + "good", 1, 1))));
        redeliver(side, GROUP, CONSUMER, entries.get(0).getId(), limit);
        var before = state();

        batches.apply(group, entries, true, retry);

        var dead = deadLetters(side, ids(entries));
        assertThat(dead).containsOnlyKeys(entries.get(0).getId());
        assertThat(dead.get(entries.get(0).getId()))
                .containsEntry("foo", "bar")
                .containsEntry(StreamGroup.DLQ_PROBLEM, "MISSING_FIELD")
                .containsEntry(StreamGroup.DLQ_DELIVERIES, Integer.toString(limit + 1));
        assertThat(row(prefix + "good")).isPresent();
        assertThat(pending()).isZero();
        var after = state();
        assertThat(after.deadLettered() - before.deadLettered()).isEqualTo(1);
        assertThat(after.applied() - before.applied()).isEqualTo(1);
    }

    @Test
    void deadLettersAnEntryDeliveredMoreOftenThanAllowedThatFailsToApplyAlone() {
        int limit = properties.projector().maxDeliveries();
        // Decodes, but PostgreSQL cannot store a NUL character: it fails on its own, not because of the others.
        var entries = deliverEvents(
                List.of(written(prefix + "nul", "nul \u0000 inside", 1, 1), written(prefix + "good", 1, 1)));
        redeliver(side, GROUP, CONSUMER, entries.get(0).getId(), limit);
        var before = state();
        double deadBefore = events("dead_lettered");

        batches.apply(group, entries, true, retry);

        var dead = deadLetters(side, ids(entries));
        assertThat(dead).containsOnlyKeys(entries.get(0).getId());
        assertThat(dead.get(entries.get(0).getId()))
                .containsEntry(StreamGroup.DLQ_PROBLEM, Rejection.APPLY_FAILED)
                .containsEntry(StreamGroup.DLQ_DELIVERIES, Integer.toString(limit + 1));
        assertThat(row(prefix + "nul")).isEmpty();
        assertThat(row(prefix + "good")).isPresent();
        assertThat(pending()).isZero();
        var after = state();
        assertThat(after.deadLettered() - before.deadLettered()).isEqualTo(1);
        assertThat(after.applied() - before.applied()).isEqualTo(1);
        assertThat(events("dead_lettered") - deadBefore).isEqualTo(1);
        assertCountersMatchRows();
    }

    @Test
    void findsTheDeliveryCountsOfEntriesWithOtherPendingEntriesBetweenThem() {
        int limit = properties.projector().maxDeliveries();
        var entries = deliverEvents(List.of(
                written(prefix + "first", 1, 1), written(prefix + "between", 1, 1), written(prefix + "last", 1, 1)));
        redeliver(side, GROUP, CONSUMER, entries.get(2).getId(), limit);
        double suspectsBefore = count("cqrs.projector.suspect.entries");

        // The middle entry stays pending with this consumer, outside the batch (as one waiting for its backoff would).
        batches.apply(group, List.of(entries.get(0), entries.get(2)), true, retry);

        assertThat(row(prefix + "first")).isPresent();
        assertThat(row(prefix + "last")).isPresent();
        assertThat(count("cqrs.projector.suspect.entries") - suspectsBefore).isEqualTo(1);
        assertThat(pending()).isEqualTo(1);
        batches.apply(group, List.of(entries.get(1)), true, retry);
        assertThat(pending()).isZero();
    }

    @Test
    void acknowledgesAnEntryDeletedFromTheStreamWithoutCountingIt() {
        var delivered = deliverEvents(List.of(written(prefix + "deleted", 1, 1)));
        redis.xdel(side, delivered.getFirst().getId());
        // Re-read from the pending list, as a restarted consumer does: the id is there, its fields are gone.
        var entries = redis.xreadgroup(
                Consumer.from(GROUP, CONSUMER), XReadArgs.Builder.count(10), XReadArgs.StreamOffset.from(side, "0"));
        assertThat(ids(entries)).isEqualTo(ids(delivered));
        var before = state();

        batches.apply(group, entries, true, retry);

        assertThat(pending()).isZero();
        assertThat(row(prefix + "deleted")).isEmpty();
        assertThat(deadLetters(side, ids(entries))).isEmpty();
        assertThat(state()).isEqualTo(before);
    }

    @Test
    void deadLettersTheEntryTheReadDatabaseRejectsAndAppliesTheRest() {
        var before = state();
        var events = new ArrayList<RecordEvent>();
        for (int i = 0; i < 7; i++) {
            events.add(written(prefix + "ok-" + i, 1, 1));
        }
        // Decodes, but PostgreSQL cannot store a NUL character: only the database can reject it.
        events.add(3, written(prefix + "nul", "nul \u0000 inside", 1, 1));
        var entries = deliverEvents(events);

        batches.apply(group, entries, false, retry);

        var dead = deadLetters(side, ids(entries));
        assertThat(dead).containsOnlyKeys(entries.get(3).getId());
        assertThat(dead.get(entries.get(3).getId()))
                .containsEntry(StreamGroup.DLQ_PROBLEM, Rejection.APPLY_FAILED)
                .containsEntry(StreamGroup.DLQ_DELIVERIES, "1");
        assertThat(row(prefix + "nul")).isEmpty();
        assertThat(rows(prefix + "ok-")).hasSize(7);
        assertThat(pending()).isZero();
        var after = state();
        assertThat(after.applied() - before.applied()).isEqualTo(7);
        assertThat(after.deadLettered() - before.deadLettered()).isEqualTo(1);
        assertCountersMatchRows();
    }

    @Test
    void keepsWhatItAppliedWhenTheGroupVanishesBeforeTheAcknowledgement() {
        var before = state();
        var entries = deliverEvents(List.of(written(prefix + "orphaned", 1, 1)));
        // XACK on a vanished group acknowledges nothing and fails nothing; the loop's next read meets NOGROUP.
        redis.xgroupDestroy(side, GROUP);

        batches.apply(group, entries, false, retry);

        assertThat(row(prefix + "orphaned")).isPresent();
        assertThat(state().applied() - before.applied()).isEqualTo(1);
    }

    record BatchSizes(long count, double totalAmount) {}

    private BatchSizes batchSizes() {
        var summary = meters.get("cqrs.projector.batch.size").summary();
        return new BatchSizes(summary.count(), summary.totalAmount());
    }
}
