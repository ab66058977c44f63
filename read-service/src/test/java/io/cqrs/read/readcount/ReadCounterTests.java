package io.cqrs.read.readcount;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class ReadCounterTests {

    private final ReadCounter counter = new ReadCounter(1);

    @Test
    void includesTheStoredCountAndThisRead() {
        long first = counter.count("k", counter.epoch(), 41);
        long second = counter.tryCount("k");

        assertThat(first).isEqualTo(42);
        assertThat(second).isEqualTo(43);
        assertThat(counter.unflushed()).isEqualTo(2);
    }

    @Test
    void asksForTheStoredCountOfAKeyItDoesNotTrack() {
        assertThat(counter.tryCount("unknown")).isEqualTo(ReadCounter.UNKNOWN);
    }

    @Test
    void keepsCountingWhileAFlushIsInFlightAndAfterItCommits() {
        counter.count("k", counter.epoch(), 10);
        counter.tryCount("k");

        ReadCounter.Batch batch = counter.take();
        long duringFlush = counter.tryCount("k");
        counter.committed(batch, Map.of("k", 12L));
        long afterFlush = counter.tryCount("k");

        assertThat(batch.keys()).containsExactly("k");
        assertThat(batch.deltas()).containsExactly(2L);
        assertThat(duringFlush).isEqualTo(13);
        assertThat(afterFlush).isEqualTo(14);
        assertThat(counter.unflushed()).isEqualTo(2);
    }

    @Test
    void putsTheCountsOfAFailedFlushBackForTheNextOne() {
        counter.count("k", counter.epoch(), 0);
        counter.tryCount("k");

        counter.failed(counter.take());
        counter.tryCount("k");
        ReadCounter.Batch retry = counter.take();

        assertThat(retry.deltas()).containsExactly(3L);
        assertThat(retry.total()).isEqualTo(3);
        assertThat(counter.unflushed()).isEqualTo(3);
    }

    @Test
    void takesOtherInstancesFlushesIntoAccountWithoutSteppingBack() {
        counter.count("k", counter.epoch(), 5);

        counter.committed(counter.take(), Map.of("k", 20L));

        assertThat(counter.tryCount("k")).isEqualTo(21);
    }

    @Test
    void reportsFlushLagOnlyWhileReadsWait() {
        assertThat(counter.flushLagSeconds()).isZero();

        counter.count("k", counter.epoch(), 0);
        assertThat(counter.flushLagSeconds()).isPositive();

        counter.committed(counter.take(), Map.of("k", 1L));
        assertThat(counter.flushLagSeconds()).isZero();
    }

    @Test
    void keepsIdleKeysWhileTheyFitInTheBound() {
        var roomy = new ReadCounter(2);
        roomy.count("a", roomy.epoch(), 0);
        roomy.count("b", roomy.epoch(), 5);
        long epoch = roomy.epoch();
        for (int flush = 0; flush < 5; flush++) {
            roomy.committed(roomy.take(), Map.of());
            roomy.retireIdle();
        }

        assertThat(roomy.epoch()).isEqualTo(epoch);
        assertThat(roomy.tryCount("a")).isEqualTo(2);
        assertThat(roomy.tryCount("b")).isEqualTo(7);
    }

    @Test
    void forgetsIdleKeysAndDistrustsStoredCountsReadBeforeThat() {
        counter.count("other", counter.epoch(), 0);
        long epochBeforeLoad = counter.epoch();
        counter.count("k", epochBeforeLoad, 0);
        counter.committed(counter.take(), Map.of("k", 1L));

        for (int flush = 0; flush < 5; flush++) {
            counter.committed(counter.take(), Map.of());
            counter.retireIdle();
        }

        assertThat(counter.tryCount("other")).isEqualTo(ReadCounter.UNKNOWN);
        assertThat(counter.tryCount("k")).isEqualTo(ReadCounter.UNKNOWN);
        assertThat(counter.count("k", epochBeforeLoad, 0)).isEqualTo(ReadCounter.UNKNOWN);
        assertThat(counter.count("k", counter.epoch(), 1)).isEqualTo(2);
    }

    @Test
    void learnsAStoredCountAheadOfAnyReadWithoutCountingOne() {
        var roomy = new ReadCounter(2);
        roomy.learn("k", roomy.epoch(), 41);

        assertThat(roomy.unflushed()).isZero();
        assertThat(roomy.tryCount("k")).isEqualTo(42);
        roomy.learn("k", roomy.epoch(), 0);
        assertThat(roomy.tryCount("k")).as("a key it knows keeps its count").isEqualTo(43);
    }

    @Test
    void learnsNothingFromARowReadBeforeARetirementOrBeyondItsBound() {
        counter.count("other", counter.epoch(), 0);
        long epochBeforeLoad = counter.epoch();
        for (int flush = 0; flush < 5; flush++) {
            counter.count("k" + flush, counter.epoch(), 0);
            counter.committed(counter.take(), Map.of());
            counter.retireIdle();
        }
        assertThat(counter.epoch()).isNotEqualTo(epochBeforeLoad);

        counter.learn("stale", epochBeforeLoad, 7);
        assertThat(counter.tryCount("stale")).isEqualTo(ReadCounter.UNKNOWN);

        assertThat(counter.tryCount("k4")).as("the one key its bound holds").isEqualTo(1 + 1);
        counter.learn("beyond", counter.epoch(), 7);
        assertThat(counter.tryCount("beyond")).isEqualTo(ReadCounter.UNKNOWN);
    }

    @Test
    void neitherLosesNorDoubleCountsNorStepsBackUnderConcurrentFlushes() throws Exception {
        int readers = 8;
        int readsEach = 20_000;
        var store = new ConcurrentHashMap<String, Long>();
        var stop = new AtomicBoolean();
        var failures = new ConcurrentHashMap<String, String>();
        var start = new CountDownLatch(1);
        counter.count("k", counter.epoch(), 0);
        store.put("k", 0L);
        long firstRead = 1;

        try (var threads = Executors.newFixedThreadPool(readers + 1)) {
            var flusher = threads.submit(() -> {
                boolean fail = false;
                while (!stop.get()) {
                    ReadCounter.Batch batch = counter.take();
                    if (fail && !batch.isEmpty()) {
                        counter.failed(batch);
                    } else {
                        var after = new HashMap<String, Long>();
                        for (int i = 0; i < batch.keys().size(); i++) {
                            after.put(
                                    batch.keys().get(i),
                                    store.merge(
                                            batch.keys().get(i), batch.deltas().get(i), Long::sum));
                        }
                        counter.committed(batch, after);
                    }
                    fail = !fail;
                }
            });
            var reads = new ArrayList<Future<?>>();
            for (int r = 0; r < readers; r++) {
                reads.add(threads.submit(() -> {
                    start.await();
                    long previous = 0;
                    for (int i = 0; i < readsEach; i++) {
                        long seen = counter.tryCount("k");
                        if (seen <= previous) {
                            failures.put(Thread.currentThread().getName(), previous + " then " + seen);
                        }
                        previous = seen;
                    }
                    return null;
                }));
            }
            start.countDown();
            for (var read : reads) {
                read.get();
            }
            stop.set(true);
            flusher.get();
        }
        ReadCounter.Batch rest = counter.take();
        if (!rest.isEmpty()) {
            store.merge("k", rest.deltas().getFirst(), Long::sum);
        }

        assertThat(failures).isEmpty();
        assertThat(store.get("k")).isEqualTo(firstRead + (long) readers * readsEach);
        assertThat(counter.unflushed()).isEqualTo(rest.total());
    }
}
