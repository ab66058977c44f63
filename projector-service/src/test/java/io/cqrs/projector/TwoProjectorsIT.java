package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.events.RecordEvent;
import io.cqrs.events.RecordWritten;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.RedisConnections;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;

/** Projectors scale as members of one group: two of them share the work and still count every key exactly. */
class TwoProjectorsIT extends ProjectorTestSupport {

    static final int KEYS = 500;
    static final int VERSIONS = 20;

    @Autowired
    LazyRedisConnection sharedRedis;

    @Autowired
    RedisConnections redisConnections;

    @Autowired
    BatchApplier batches;

    @Autowired
    ProjectorMetrics metrics;

    @Test
    @Timeout(300)
    void twoConsumersInOneGroupProjectTenThousandEventsExactly() {
        // The context's consumer is the first; the test starts a second one in the same group.
        awaitProjected();
        var before = state();
        var first = properties.projector();
        var secondSettings = first.withConsumer("second-projector");
        var second = new StreamConsumer(
                new ProjectorProperties(properties.events(), secondSettings),
                sharedRedis,
                redisConnections,
                batches,
                metrics,
                Clock.systemUTC());
        assertThat(secondSettings.consumer()).isNotEqualTo(first.consumer());
        // Version by version across all keys, so that both consumers get batches touching the same keys.
        var events = new ArrayList<RecordEvent>();
        var newest = new HashMap<String, RecordEvent>();
        var writes = new HashMap<String, Long>();
        for (int version = 1; version <= VERSIONS; version++) {
            for (int key = 0; key < KEYS; key++) {
                String name = prefix + key;
                long writeCount = writes.getOrDefault(name, 0L);
                RecordEvent event = (version + key) % 7 == 0
                        ? deleted(name, version, writeCount)
                        : written(name, version, writeCount + 1);
                if (event instanceof RecordWritten) {
                    writes.put(name, writeCount + 1);
                }
                events.add(event);
                newest.put(name, event);
            }
        }

        second.start();
        try {
            publish(events);
            awaitProjected();
        } finally {
            second.stop();
        }

        assertThat(second.isRunning()).isFalse();
        var rows = rows(prefix);
        assertThat(rows).hasSize(KEYS);
        for (var row : rows) {
            RecordEvent expected = newest.get(row.key());
            assertThat(row.version()).as(row.key()).isEqualTo(VERSIONS);
            assertThat(row.writeCount()).as(row.key()).isEqualTo(writes.get(row.key()));
            assertThat(row.deleted()).as(row.key()).isEqualTo(!(expected instanceof RecordWritten));
            assertThat(row.value()).as(row.key()).isEqualTo(expected instanceof RecordWritten w ? w.value() : null);
            assertThat(row.lastCommandId()).as(row.key()).isEqualTo(expected.commandId());
        }
        var after = state();
        long live =
                newest.values().stream().filter(RecordWritten.class::isInstance).count();
        assertThat(after.records() - before.records()).isEqualTo(live);
        assertThat(after.totalWrites() - before.totalWrites())
                .isEqualTo(writes.values().stream().mapToLong(Long::longValue).sum());
        assertThat((after.applied() + after.stale()) - (before.applied() + before.stale()))
                .isGreaterThanOrEqualTo(events.size());
        assertThat(after.deadLettered()).isEqualTo(before.deadLettered());
        assertThat(redis.xinfoConsumers(stream.name(), group()).toString())
                .contains("second-projector")
                .contains(first.consumer());
        assertCountersMatchRows();
    }
}
