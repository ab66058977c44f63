package io.cqrs.projector.deadletters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.events.EventCodec;
import io.cqrs.events.EventStreams;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.testsupport.LocalHttp;
import io.lettuce.core.Range;
import io.lettuce.core.XAddArgs;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * The dead-letter stream's bounds: the ratio and a WARN say it is filling up before anything is dropped, and what is
 * dropped is counted. On streams of their own, with small bounds, so that the context's own stream keeps the defaults.
 */
@ExtendWith(OutputCaptureExtension.class)
class DeadLetterJanitorIT extends DeadLetterTestSupport {

    @Autowired
    LazyRedisConnection sharedRedis;

    @Test
    void warnsBeforeTheSizeBoundDropsAndCountsWhatItDrops(CapturedOutput output) {
        String other = stream.name() + ":size";
        var registry = new SimpleMeterRegistry();
        var deadLetters = new DeadLetterStream(sharedRedis, properties(other, 10, Duration.ofDays(14)));
        var janitor = new DeadLetterJanitor(deadLetters, properties(other, 10, Duration.ofDays(14)), registry);
        try {
            var ids = new ArrayList<String>();
            for (int i = 0; i < 8; i++) {
                ids.add(add(other, null));
            }
            var eight = janitor.check().orElseThrow();
            assertThat(eight.capacityRatio()).isEqualTo(0.8);
            assertThat(output).doesNotContain("full (");

            ids.add(add(other, null));
            var nine = janitor.check().orElseThrow();
            assertThat(nine.capacityRatio()).isEqualTo(0.9);
            assertThat(nine.droppedForSize()).isZero();
            assertThat(gauge(registry, "cqrs.deadletter.capacity.ratio")).isEqualTo(0.9);
            assertThat(gauge(registry, "cqrs.deadletter.entries")).isEqualTo(9);
            assertThat(output).contains("is 90% full (9 entries of 10");
            assertThat(dropped(registry, "size")).isZero();

            for (int i = 0; i < 3; i++) {
                ids.add(add(other, null));
            }
            var twelve = janitor.check().orElseThrow();
            assertThat(twelve.droppedForSize()).isEqualTo(2);
            assertThat(dropped(registry, "size")).isEqualTo(2);
            assertThat(gauge(registry, "cqrs.deadletter.entries")).isEqualTo(10);
            assertThat(gauge(registry, "cqrs.deadletter.capacity.ratio")).isEqualTo(1.0);
            assertThat(ids(other)).isEqualTo(ids.subList(2, 12));
            assertThat(output).contains("Dropped the 2 oldest dead letters");
        } finally {
            redis.del(EventStreams.deadLetterStream(other));
        }
    }

    @Test
    void warnsBeforeTheAgeBoundDropsAndDropsOnlyWhatIsTooOld(CapturedOutput output) {
        String other = stream.name() + ":age";
        var registry = new SimpleMeterRegistry();
        var settings = properties(other, 1000, Duration.ofHours(1));
        var janitor = new DeadLetterJanitor(new DeadLetterStream(sharedRedis, settings), settings, registry);
        long now = System.currentTimeMillis();
        try {
            add(other, (now - Duration.ofMinutes(50).toMillis()) + "-0");
            var warned = janitor.check().orElseThrow();
            assertThat(warned.capacityRatio()).isBetween(0.8, 0.9);
            assertThat(warned.droppedForAge()).isZero();
            assertThat(output).contains("% full (1 entries of 1000");
            assertThat(gauge(registry, "cqrs.deadletter.oldest.age")).isBetween(2990.0, 3100.0);

            redis.del(EventStreams.deadLetterStream(other));
            var tooOld = new ArrayList<String>();
            for (int i = 0; i < 150; i++) {
                tooOld.add(add(other, (now - Duration.ofHours(2).toMillis()) + "-" + i));
            }
            String kept = add(other, (now - Duration.ofMinutes(50).toMillis()) + "-0");
            String recent = add(other, null);

            var round = janitor.check().orElseThrow();

            assertThat(round.droppedForAge()).isEqualTo(150);
            assertThat(dropped(registry, "age")).isEqualTo(150);
            assertThat(ids(other)).containsExactly(kept, recent);
            assertThat(round.capacityRatio()).isBetween(0.8, 0.9);
            assertThat(output).contains("Dropped 150 dead letters older than");
        } finally {
            redis.del(EventStreams.deadLetterStream(other));
        }
    }

    @Test
    void publishesTheGaugesOfTheContextsOwnDeadLetterStream() {
        deadLetter(written(prefix + "a", 1, 1), "APPLY_FAILED");

        await().atMost(PATIENCE)
                .untilAsserted(() -> assertThat(new LocalHttp(managementPort)
                                .get("/actuator/prometheus")
                                .body())
                        .containsPattern("cqrs_deadletter_entries\\{[^}]*} [1-9]")
                        .contains("cqrs_deadletter_oldest_age_seconds{")
                        .contains("cqrs_deadletter_capacity_ratio{")
                        .contains("cqrs_deadletter_dropped_total{"));
    }

    private static DeadLetterProperties properties(String stream, long maxEntries, Duration maxAge) {
        return new DeadLetterProperties(stream, maxEntries, maxAge, Duration.ofSeconds(10));
    }

    private String add(String stream, String id) {
        var fields = EventCodec.encode(written(prefix + "k", 1, 1));
        String dlq = EventStreams.deadLetterStream(stream);
        return id == null ? redis.xadd(dlq, fields) : redis.xadd(dlq, new XAddArgs().id(id), fields);
    }

    private List<String> ids(String stream) {
        return redis.xrange(EventStreams.deadLetterStream(stream), Range.unbounded()).stream()
                .map(entry -> entry.getId())
                .toList();
    }

    private static double gauge(MeterRegistry registry, String name) {
        return registry.get(name).gauge().value();
    }

    private static double dropped(MeterRegistry registry, String bound) {
        return registry.get("cqrs.deadletter.dropped")
                .tag("bound", bound)
                .counter()
                .count();
    }
}
