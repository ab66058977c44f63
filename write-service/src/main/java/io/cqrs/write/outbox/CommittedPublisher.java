package io.cqrs.write.outbox;

import io.cqrs.events.RecordEvent;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.dao.DataAccessException;
import org.springframework.stereotype.Component;

/**
 * Publishes the events of freshly committed groups: one thread sends the events of every group handed over since its
 * last round as one pipelined batch ({@link OutboxRelay}), answers the groups' requests with the stream ids Redis gave
 * in time, and marks those outbox rows published, while the committers already work on their next groups. After a
 * failed publish it leaves new events to {@link OutboxSweeper} for a moment instead of making requests wait for Redis.
 */
@Component
public class CommittedPublisher implements SmartLifecycle {

    /** Starts before the group committers that hand over to it, and stops after them. */
    public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 4097;

    private static final Logger log = LoggerFactory.getLogger(CommittedPublisher.class);

    private final OutboxRelay relay;
    private final OutboxRepository outbox;
    private final OutboxProperties properties;
    private final Timer commitToXadd;
    private final BlockingQueue<Committed> committed = new LinkedBlockingQueue<>();
    private volatile boolean running;
    private volatile long pausedUntilNanos = System.nanoTime();
    private @Nullable Thread thread;

    CommittedPublisher(OutboxRelay relay, OutboxRepository outbox, OutboxProperties properties, MeterRegistry meters) {
        this.relay = relay;
        this.outbox = outbox;
        this.properties = properties;
        // The first stage of an event's way from the write commit to a read that sees it, named and bucketed as the
        // projector and read services name and bucket theirs: from the group's commit returning to Redis' XADD reply
        // (waiting for the publisher thread, the pipelined XADDs of every group it took), once per event published.
        this.commitToXadd = Timer.builder("cqrs.stage")
                .description("Time events spend in one stage of their way from the write commit to a read that sees"
                        + " them, by stage")
                .tag("stage", "commit_to_xadd")
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(100_000))
                .maximumExpectedValue(Duration.ofSeconds(10))
                .register(meters);
    }

    /**
     * A committed group's events, the trace contexts of its traced requests' events (command id → traceparent), when
     * it committed, and who waits to hear which of them reached the stream.
     */
    private record Committed(
            List<RecordEvent> events,
            Map<Long, String> traceparents,
            long committedAt,
            Consumer<Map<Long, String>> answer) {}

    /**
     * Hands over the events of a committed group. {@code answer} runs once they were offered to Redis, with command id
     * → stream entry id for those acknowledged in time; the others stay queued in the outbox.
     *
     * @param traceparents command id → the trace context to carry beside its event, for traced requests only (usually
     *     none)
     * @param committedAt when the group's transaction committed, {@link System#nanoTime()}
     */
    public void publish(
            List<RecordEvent> events,
            Map<Long, String> traceparents,
            long committedAt,
            Consumer<Map<Long, String>> answer) {
        if (!running) {
            answer.accept(Map.of()); // shutting down: the sweeper publishes them after the next start
            return;
        }
        committed.add(new Committed(events, traceparents, committedAt, answer));
    }

    private void run() {
        var groups = new ArrayList<Committed>();
        while (running || !committed.isEmpty()) {
            try {
                var first = committed.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                groups.add(first);
                committed.drainTo(groups);
                publishAndAnswer(groups);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                // Never let this thread die: every later committed request would wait for an answer forever.
                log.error("Publishing {} committed groups failed unexpectedly", groups.size(), e);
            } finally {
                groups.clear();
            }
        }
    }

    private void publishAndAnswer(List<Committed> groups) {
        List<RecordEvent> events = groups.getFirst().events();
        Map<Long, String> traceparents = groups.getFirst().traceparents();
        if (groups.size() > 1) {
            events = new ArrayList<>();
            var merged = new HashMap<Long, String>();
            for (Committed group : groups) {
                events.addAll(group.events());
                merged.putAll(group.traceparents());
            }
            traceparents = merged;
        }
        Map<Long, String> streamIds = Map.of();
        try {
            streamIds = publishNow(events, traceparents);
            timeStage(groups, streamIds);
        } finally {
            // Committed is committed: every request is answered, with the event ids Redis gave in time, if any.
            var published = streamIds;
            groups.forEach(group -> group.answer().accept(published));
        }
        try {
            outbox.markPublishedAlone(streamIds);
        } catch (DataAccessException e) {
            // The events are on the stream; the sweeper will publish them again, which the projector ignores.
            log.warn("Could not mark {} published events in the outbox: {}", streamIds.size(), e.getMessage());
        }
    }

    private void timeStage(List<Committed> groups, Map<Long, String> streamIds) {
        if (streamIds.isEmpty()) {
            return;
        }
        long now = System.nanoTime();
        for (Committed group : groups) {
            for (RecordEvent event : group.events()) {
                if (streamIds.containsKey(event.commandId())) {
                    commitToXadd.record(now - group.committedAt(), TimeUnit.NANOSECONDS);
                }
            }
        }
    }

    /** Publishes unless Redis failed a moment ago; returns the stream ids of the events Redis acknowledged in time. */
    private Map<Long, String> publishNow(List<RecordEvent> events, Map<Long, String> traceparents) {
        if (events.isEmpty() || System.nanoTime() < pausedUntilNanos) {
            return Map.of();
        }
        var publication = relay.publish(events, traceparents, properties.publishTimeout());
        if (publication.error() != null) {
            pausedUntilNanos =
                    System.nanoTime() + properties.pauseAfterFailure().toNanos();
            log.warn(
                    "Could not publish {} of {} events, leaving them to the sweeper: {}",
                    events.size() - publication.streamIds().size(),
                    events.size(),
                    publication.error());
        }
        return publication.streamIds();
    }

    @Override
    public void start() {
        running = true;
        thread = Thread.ofPlatform().name("group-publisher").daemon(false).start(this::run);
    }

    /** Publishes what was handed over before it stopped; the lifecycle's shutdown timeout bounds the wait. */
    @Override
    public void stop(Runnable callback) {
        running = false;
        var current = thread;
        Thread.ofVirtual().start(() -> {
            try {
                if (current != null) {
                    current.join();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                callback.run();
            }
        });
    }

    @Override
    public void stop() {
        running = false;
        var current = thread;
        if (current != null) {
            try {
                current.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
