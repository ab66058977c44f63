package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.stream.StreamEntryId;
import io.lettuce.core.Consumer;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

/** The janitor trims what every group has finished, and nothing a group still needs. */
class StreamJanitorIT extends ProjectorTestSupport {

    @Autowired
    StreamJanitor janitor;

    @Test
    void oneRoundTrimsMoreThanOneXtrimCallMay() {
        // A stream of its own, with a group that finished everything: all of it may go in one round, though one
        // XTRIM MINID ~ call removes at most 10,000 entries.
        String other = stream.name() + ":janitor";
        var async = connection.async();
        var futures = IntStream.range(0, 35_000)
                .mapToObj(i -> async.xadd(other, Map.of("n", Integer.toString(i))))
                .toArray(RedisFuture[]::new);
        assertThat(LettuceFutures.awaitAll(Duration.ofSeconds(30), futures)).isTrue();
        redis.xgroupCreate(XReadArgs.StreamOffset.latest(other), "done");
        try {
            long removed = janitor.trim(other);

            assertThat(removed).isGreaterThan(34_000);
            assertThat(redis.xlen(other)).isLessThanOrEqualTo(1_000);
        } finally {
            redis.del(other);
        }
    }

    @Test
    void trimsOnlyBelowTheOldestEntryAnyGroupHasNotFinished() {
        awaitProjected();
        String laggard = "laggard-" + prefix.substring(1, prefix.length() - 1);
        redis.xgroupCreate(XReadArgs.StreamOffset.latest(stream.name()), laggard, XGroupCreateArgs.Builder.mkstream());
        double trimmedBefore = count("cqrs.stream.trimmed");
        try {
            var ids = publish(IntStream.range(0, 300)
                    .mapToObj(i -> written(prefix + i, 1, 1))
                    .toList());
            // The laggard finished the first 200, holds the next 50 pending and has not read the last 50.
            redis.xreadgroup(
                    Consumer.from(laggard, "slow"),
                    XReadArgs.Builder.count(250),
                    XReadArgs.StreamOffset.lastConsumed(stream.name()));
            redis.xack(stream.name(), laggard, ids.subList(0, 200).toArray(String[]::new));
            awaitProjected();

            await().atMost(PATIENCE)
                    .untilAsserted(() -> assertThat(firstEntryId()).isGreaterThan(StreamEntryId.parse(ids.getFirst())));

            assertThat(count("cqrs.stream.trimmed")).isGreaterThan(trimmedBefore);
            assertThat(firstEntryId()).isLessThanOrEqualTo(StreamEntryId.parse(ids.get(200)));
            List<String> kept = redis.xrange(stream.name(), Range.create(ids.get(200), ids.getLast())).stream()
                    .map(entry -> entry.getId())
                    .toList();
            assertThat(kept).isEqualTo(ids.subList(200, 300));
            assertThat(redis.xpending(stream.name(), laggard).getCount()).isEqualTo(50);
            await().atMost(PATIENCE)
                    .untilAsserted(() -> assertThat(meters.get("cqrs.stream.trim.held.back")
                                    .gauge()
                                    .value())
                            .isPositive());
        } finally {
            redis.xgroupDestroy(stream.name(), laggard);
        }
    }

    private StreamEntryId firstEntryId() {
        return StreamEntryId.parse(redis.xrange(stream.name(), Range.unbounded(), Limit.from(1))
                .getFirst()
                .getId());
    }
}
