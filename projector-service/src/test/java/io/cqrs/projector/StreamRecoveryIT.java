package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.events.EventCodec;
import io.cqrs.events.RecordEvent;
import io.cqrs.stream.StreamEntryId;
import io.cqrs.testsupport.DatabaseOutage;
import io.lettuce.core.Consumer;
import io.lettuce.core.XAddArgs;
import io.lettuce.core.XClaimArgs;
import io.lettuce.core.XReadArgs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;

/** What goes wrong around the projector, and how it comes back without losing or double-counting anything. */
class StreamRecoveryIT extends ProjectorTestSupport {

    @Autowired
    JdbcConnectionDetails database;

    @Autowired
    StreamConsumer consumer;

    /**
     * Publishes the entries and hands them to {@code consumer} in one MULTI/EXEC, so that the running projector (blocked
     * on new entries) never sees them first: as if that consumer had read them just before it died.
     */
    List<String> publishToConsumer(String consumer, List<Map<String, String>> entries) {
        redis.multi();
        for (var fields : entries) {
            redis.xadd(stream.name(), fields);
        }
        redis.xreadgroup(
                Consumer.from(group(), consumer),
                XReadArgs.Builder.count(entries.size()),
                XReadArgs.StreamOffset.lastConsumed(stream.name()));
        var results = redis.exec();
        var ids = new ArrayList<String>();
        for (int i = 0; i < entries.size(); i++) {
            ids.add(results.get(i));
        }
        return ids;
    }

    @Test
    void aStopInTheMiddleOfABacklogAppliesTheBatchReadAheadAndLeavesNothingPending() {
        awaitProjected();
        int batch = properties.projector().batchSize();
        int backlog = 100 * batch;
        double appliedBefore = events("applied");
        // While the consumer works through the backlog, it has the next batch requested ahead.
        publish(IntStream.range(0, backlog)
                .mapToObj(i -> written(prefix + "backlog-" + i, 1, 1))
                .toList());
        await().atMost(PATIENCE)
                .pollInterval(Duration.ofMillis(2))
                .until(() -> events("applied") >= appliedBefore + batch);

        consumer.stop();
        try {
            assertThat(events("applied")).as("stopped in the middle").isLessThan(appliedBefore + backlog);
            assertThat(redis.xpending(stream.name(), group()).getCount())
                    .as("entries delivered to the stopped consumer and not acknowledged")
                    .isZero();
        } finally {
            consumer.start();
        }
        awaitProjected();
        assertThat(events("applied")).isEqualTo(appliedBefore + backlog);
    }

    @Test
    void claimsAndAppliesWhatADeadConsumerLeftPending() {
        awaitProjected();
        double claimedBefore = count("cqrs.projector.claimed");
        var events = IntStream.rangeClosed(1, 5)
                .mapToObj(v -> written(prefix + "orphan", v, v))
                .map(EventCodec::encode)
                .toList();

        publishToConsumer("crashed-consumer", events);
        assertThat(redis.xpending(stream.name(), group()).getCount()).isGreaterThanOrEqualTo(5);

        awaitProjected();
        var row = row(prefix + "orphan").orElseThrow();
        assertThat(row.version()).isEqualTo(5);
        assertThat(row.writeCount()).isEqualTo(5);
        assertThat(count("cqrs.projector.claimed") - claimedBefore).isGreaterThanOrEqualTo(5);
        assertCountersMatchRows();
    }

    @Test
    void deadLettersPoisonAndKeepsApplyingTheEventsAfterIt() {
        awaitProjected();
        var before = state();
        double deadBefore = events("dead_lettered");
        var garbage = Map.of("foo", "bar");
        var unknownType =
                replaceValue(EventCodec.encode(written(prefix + "x", 7, 3)), EventCodec.TYPE_WRITTEN, "record.renamed");
        var unknownSchema = replaceValue(
                EventCodec.encode(written(prefix + "y", 7, 3)),
                Integer.toString(EventCodec.SCHEMA),
                Integer.toString(EventCodec.SCHEMA + 1));
        // Decodes, but PostgreSQL cannot store a NUL character: only the database can reject it.
        var unstorable = EventCodec.encode(written(prefix + "z", "nul \u0000 inside", 1, 1));
        var good = EventCodec.encode(written(prefix + "good", 1, 1));

        var ids = publishFields(List.of(garbage, unknownType, unknownSchema, unstorable, good));
        awaitProjected();

        assertThat(row(prefix + "good"))
                .hasValueSatisfying(r -> assertThat(r.version()).isEqualTo(1));
        assertThat(row(prefix + "x")).isEmpty();
        assertThat(row(prefix + "z")).isEmpty();
        var dead = deadLetters(ids);
        assertThat(dead).containsOnlyKeys(ids.subList(0, 4));
        assertThat(dead.get(ids.get(0)))
                .containsEntry("foo", "bar")
                .containsEntry(StreamGroup.DLQ_PROBLEM, "MISSING_FIELD")
                .containsEntry(StreamGroup.DLQ_DELIVERIES, "1")
                .containsEntry(StreamGroup.DLQ_CONSUMER, "projector-under-test")
                .containsKey(StreamGroup.DLQ_REASON);
        assertThat(dead.get(ids.get(1))).containsEntry(StreamGroup.DLQ_PROBLEM, "UNKNOWN_TYPE");
        assertThat(dead.get(ids.get(1))).containsAllEntriesOf(unknownType);
        assertThat(dead.get(ids.get(2))).containsEntry(StreamGroup.DLQ_PROBLEM, "UNKNOWN_SCHEMA");
        assertThat(dead.get(ids.get(3)))
                .containsEntry(StreamGroup.DLQ_PROBLEM, Rejection.APPLY_FAILED)
                .containsAllEntriesOf(unstorable);
        var after = state();
        assertThat(after.deadLettered() - before.deadLettered()).isEqualTo(4);
        assertThat(after.applied() - before.applied()).isEqualTo(1);
        assertThat(events("dead_lettered") - deadBefore).isEqualTo(4);
        assertCountersMatchRows();
    }

    /**
     * Adds the entry and delivers it to {@code consumer} {@code deliveries} times, all in one MULTI, so that the running
     * projector cannot claim it before its delivery count says so: as if consumers had crashed holding it that often.
     */
    String publishDeliveredTimes(String consumer, RecordEvent event, int deliveries) {
        StreamEntryId last = lastGeneratedId();
        String id = new StreamEntryId(last.millis() + 1, 0).toString();
        var holder = Consumer.from(group(), consumer);
        redis.multi();
        redis.xadd(stream.name(), new XAddArgs().id(id), EventCodec.encode(event));
        redis.xreadgroup(holder, XReadArgs.Builder.count(1), XReadArgs.StreamOffset.lastConsumed(stream.name()));
        for (int i = 1; i < deliveries; i++) {
            redis.xclaim(stream.name(), holder, new XClaimArgs().minIdleTime(0), id);
        }
        assertThat(redis.exec().wasDiscarded()).isFalse();
        assertThat(pendingEntry(stream.name(), group(), id))
                .hasValueSatisfying(p -> assertThat(p.getRedeliveryCount()).isEqualTo(deliveries));
        return id;
    }

    /** Makes a pending entry look idle for {@code idle} without counting a delivery: its backoff is over. */
    void idleFor(String id, String consumer, Duration idle) {
        redis.xclaim(
                stream.name(),
                Consumer.from(group(), consumer),
                new XClaimArgs().idle(idle).justid(),
                id);
    }

    @Test
    void appliesAnEntryDeliveredTooOftenOnceItsBackoffIsOverInsteadOfDeadLetteringIt() {
        awaitProjected();
        var before = state();
        double suspectsBefore = count("cqrs.projector.suspect.entries");
        // Held by consumers that crashed as often as allowed: the next claim is one delivery past the limit.
        String id = publishDeliveredTimes(
                "crashing-consumer",
                written(prefix + "survivor", 1, 1),
                properties.projector().maxDeliveries() + 1);

        awaitProjected();

        assertThat(row(prefix + "survivor"))
                .hasValueSatisfying(r -> assertThat(r.version()).isEqualTo(1));
        assertThat(deadLetters(List.of(id))).isEmpty();
        assertThat(state().deadLettered()).isEqualTo(before.deadLettered());
        assertThat(state().applied() - before.applied()).isEqualTo(1);
        assertThat(count("cqrs.projector.suspect.entries") - suspectsBefore).isEqualTo(1);
        assertCountersMatchRows();
    }

    @Test
    void leavesAnEntryDeliveredFarTooOftenPendingUntilItsBackoffIsOverWhileOthersFlow() {
        awaitProjected();
        var limit = DeliveryLimit.of(properties.projector());
        int deliveries = properties.projector().maxDeliveries() + 20;
        String id = publishDeliveredTimes("crashing-consumer", written(prefix + "backing-off", 1, 1), deliveries);

        // Idle past the claim idle time, but not past its backoff (the longest): the claims pass it over.
        await().atMost(PATIENCE)
                .untilAsserted(() -> assertThat(gauge("cqrs.projector.suspect.entries.backing.off"))
                        .isEqualTo(1));
        var later = publish(List.of(written(prefix + "after", 1, 1)));
        await().atMost(PATIENCE).until(() -> row(prefix + "after").isPresent());
        assertThat(pendingEntry(stream.name(), group(), id)).hasValueSatisfying(p -> {
            assertThat(p.getConsumer()).isEqualTo("crashing-consumer");
            assertThat(p.getRedeliveryCount()).isEqualTo(deliveries);
        });
        assertThat(row(prefix + "backing-off")).isEmpty();
        assertThat(limit.idleBeforeClaim(deliveries))
                .isEqualTo(properties.projector().suspectMaxBackoff());

        idleFor(id, "crashing-consumer", limit.idleBeforeClaim(deliveries));
        awaitProjected();

        assertThat(row(prefix + "backing-off")).isPresent();
        assertThat(deadLetters(List.of(id, later.getFirst()))).isEmpty();
        await().atMost(PATIENCE)
                .untilAsserted(() -> assertThat(gauge("cqrs.projector.suspect.entries.backing.off"))
                        .isZero());
    }

    @Test
    void aRestartedConsumerTakesBackItsOwnEntriesButThosePastTheLimitOnlyAfterTheirBackoff() {
        awaitProjected();
        var limit = DeliveryLimit.of(properties.projector());
        String me = properties.projector().consumer();
        int farTooOften = properties.projector().maxDeliveries() + 20;
        consumer.stop();
        String fresh;
        String due;
        String backingOff;
        try {
            // What this consumer held when it last crashed: an entry delivered once, one delivered once past the limit
            // long ago (its backoff is over), one delivered far too often just now.
            fresh = publishDeliveredTimes(me, written(prefix + "fresh", 1, 1), 1);
            due = publishDeliveredTimes(
                    me, written(prefix + "due", 1, 1), properties.projector().maxDeliveries() + 1);
            idleFor(due, me, limit.idleBeforeClaim(properties.projector().maxDeliveries() + 1));
            backingOff = publishDeliveredTimes(me, written(prefix + "backing-off", 1, 1), farTooOften);
        } finally {
            consumer.start();
        }

        await().atMost(PATIENCE)
                .until(() ->
                        row(prefix + "fresh").isPresent() && row(prefix + "due").isPresent());
        assertThat(row(prefix + "backing-off")).isEmpty();
        assertThat(pendingEntry(stream.name(), group(), backingOff))
                .hasValueSatisfying(p -> assertThat(p.getRedeliveryCount()).isEqualTo(farTooOften));

        idleFor(backingOff, me, limit.idleBeforeClaim(farTooOften));
        awaitProjected();

        assertThat(row(prefix + "backing-off")).isPresent();
        assertThat(deadLetters(List.of(fresh, due, backingOff))).isEmpty();
        assertCountersMatchRows();
    }

    @Test
    @Timeout(300)
    void losesNothingWhileTheReadDatabaseIsAway() throws Exception {
        var first = new ArrayList<RecordEvent>();
        var second = new ArrayList<RecordEvent>();
        for (int key = 0; key < 20; key++) {
            for (int version = 1; version <= 10; version++) {
                (version <= 5 ? first : second).add(written(prefix + "k" + key, version, version));
            }
        }
        publish(first);
        awaitProjected();
        double retriesBefore = count("cqrs.projector.retries", "cause", "read_db");
        String name = jdbc.sql("select current_database()").query(String.class).single();

        try (var outage = DatabaseOutage.of(database, name)) {
            publish(second);
            await().atMost(PATIENCE)
                    // Down long enough for several failed attempts, each followed by a longer pause.
                    .until(() -> count("cqrs.projector.retries", "cause", "read_db") >= retriesBefore + 3);
            // Stopping mid-outage abandons the batch without hanging; its entries stay pending for the restart.
            consumer.stop();
            assertThat(consumer.isRunning()).isFalse();
            assertThat(redis.xpending(stream.name(), group()).getCount()).isPositive();
            consumer.start();
        }

        awaitProjected();
        var rows = rows(prefix + "k");
        assertThat(rows).hasSize(20).allSatisfy(row -> {
            assertThat(row.version()).isEqualTo(10);
            assertThat(row.writeCount()).isEqualTo(10);
            assertThat(row.value()).endsWith(" v10");
        });
        assertCountersMatchRows();
    }

    @Test
    void recreatesAVanishedGroupAndCarriesOn() {
        awaitProjected();
        double recreatedBefore = count("cqrs.stream.group.recreated", "stream", stream.name());

        redis.xgroupDestroy(stream.name(), group());
        publish(List.of(written(prefix + "after-loss", 1, 1)));

        await().atMost(PATIENCE).until(() -> row(prefix + "after-loss").isPresent());
        await().atMost(PATIENCE)
                .untilAsserted(() -> assertThat(
                                count("cqrs.stream.group.recreated", "stream", stream.name()) - recreatedBefore)
                        .isGreaterThanOrEqualTo(1));
        awaitProjected();
        assertCountersMatchRows();
    }

    private double gauge(String name) {
        var gauge = meters.find(name).gauge();
        return gauge == null ? Double.NaN : gauge.value();
    }

    // The stream may be trimmed empty; its last generated id is what a new id must exceed.
    private StreamEntryId lastGeneratedId() {
        List<Object> info = redis.xinfoStream(stream.name());
        for (int i = 0; i + 1 < info.size(); i += 2) {
            if ("last-generated-id".equals(String.valueOf(info.get(i)))) {
                return StreamEntryId.parse(String.valueOf(info.get(i + 1)));
            }
        }
        throw new IllegalStateException("XINFO STREAM without last-generated-id: " + info);
    }

    private static Map<String, String> replaceValue(Map<String, String> fields, String from, String to) {
        var replaced = new LinkedHashMap<String, String>();
        fields.forEach((name, value) -> replaced.put(name, value.equals(from) ? to : value));
        assertThat(replaced).isNotEqualTo(fields);
        return replaced;
    }
}
