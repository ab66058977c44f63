package io.cqrs.write.command;

import io.cqrs.events.RecordEvent;
import io.cqrs.write.command.PendingUnit.Outcome;
import io.cqrs.write.outbox.CommittedPublisher;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.dao.DataAccessException;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.stereotype.Component;
import org.springframework.transaction.TransactionException;
import org.springframework.transaction.TransactionSystemException;

/**
 * Group commit: requests queue their units here; a few committer threads each take what has queued up (up to
 * {@code groupMaxCommands}) and apply it in one transaction — commands, key states, outbox rows and counters — then
 * hand the committed group to {@link CommittedPublisher}, which publishes its events and answers the requests while
 * the committers already work on the next groups. Under load, groups grow by themselves; alone, a request goes through
 * at once.
 */
@Component
class GroupCommitter implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(GroupCommitter.class);
    private static final long DATABASE_PAUSE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final GroupTransaction transaction;
    private final CommittedPublisher publisher;
    private final WriteProperties properties;
    private final BlockingQueue<PendingUnit> queue = new LinkedBlockingQueue<>();
    private final AtomicInteger queuedCommands = new AtomicInteger();
    private final AtomicLong queuedBytes = new AtomicLong();
    private final Counter overloaded;
    private final List<Thread> committers = new ArrayList<>();
    private volatile boolean running;
    private volatile long databaseUnavailableUntil = System.nanoTime();

    GroupCommitter(
            GroupTransaction transaction,
            CommittedPublisher publisher,
            WriteProperties properties,
            MeterRegistry meters) {
        this.transaction = transaction;
        this.publisher = publisher;
        this.properties = properties;
        this.overloaded = Counter.builder("cqrs.write.overloaded")
                .description("Requests refused with 503 because too many writes were already queued")
                .register(meters);
        Gauge.builder("cqrs.write.queued.commands", queuedCommands, AtomicInteger::get)
                .description("Commands waiting for a group-commit transaction")
                .register(meters);
        Gauge.builder("cqrs.write.queued", queuedBytes, AtomicLong::get)
                .description("Memory the commands waiting for a group-commit transaction take, estimated")
                .baseUnit("bytes")
                .register(meters);
    }

    /**
     * Queues a unit; its outcome completes once its group has committed (and its events were offered to Redis). Refuses
     * the unit when {@code maxQueuedCommands}, or {@code maxQueuedBytes} of values, are already waiting: under overload, a fast 503 with Retry-After keeps
     * memory bounded and tells clients to back off, where an unbounded queue would grow until the heap runs out.
     */
    PendingUnit submit(PendingUnit unit) {
        if (!running) {
            throw new WriteStoreUnavailable("the write service is shutting down");
        }
        if (System.nanoTime() < databaseUnavailableUntil) {
            throw new WriteStoreUnavailable("the write database was unreachable a moment ago");
        }
        int size = unit.commands().size();
        long bytes = unit.bytes();
        long queuedNow = queuedBytes.addAndGet(bytes);
        if (queuedCommands.addAndGet(size) > properties.maxQueuedCommands() && queuedCommands.get() > size
                || queuedNow > properties.maxQueuedBytes().toBytes() && queuedNow > bytes) {
            queuedCommands.addAndGet(-size);
            queuedBytes.addAndGet(-bytes);
            overloaded.increment();
            throw new WriteStoreUnavailable("too many writes are waiting for the write database");
        }
        queue.add(unit);
        return unit;
    }

    private void run(int totalsSlot) {
        var group = new ArrayList<PendingUnit>();
        // A unit that would have made the last group too large starts this committer's next group.
        PendingUnit carried = null;
        while (running || !queue.isEmpty() || carried != null) {
            try {
                PendingUnit first = carried != null ? carried : queue.poll(100, TimeUnit.MILLISECONDS);
                carried = null;
                if (first == null) {
                    continue;
                }
                group.add(first);
                int size = first.commands().size();
                PendingUnit next;
                while (size < properties.groupMaxCommands() && (next = queue.poll()) != null) {
                    if (size + next.commands().size() > properties.groupMaxCommands()) {
                        carried = next;
                        break;
                    }
                    group.add(next);
                    size += next.commands().size();
                }
                queuedCommands.addAndGet(-size);
                queuedBytes.addAndGet(
                        -group.stream().mapToLong(PendingUnit::bytes).sum());
                process(group, totalsSlot);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                log.error("Group of {} requests failed unexpectedly", group.size(), e);
                group.forEach(unit -> unit.outcome().completeExceptionally(e));
            } finally {
                group.clear();
            }
        }
    }

    private void process(List<PendingUnit> group, int totalsSlot) {
        if (System.nanoTime() < databaseUnavailableUntil) {
            failAll(group, () -> new WriteStoreUnavailable("the write database was unreachable a moment ago"));
            return;
        }
        Map<PendingUnit, Outcome> outcomes;
        long committedAt;
        try {
            outcomes = transaction.commit(group, totalsSlot);
            committedAt = System.nanoTime();
        } catch (DataAccessResourceFailureException | TransactionException e) {
            // Fail fast for a moment instead of making every queued request wait out a connection timeout.
            databaseUnavailableUntil = System.nanoTime() + DATABASE_PAUSE_NANOS;
            // The commit itself failed (the connection broke while committing): it may have happened or not. A failed
            // rollback after a failed statement carries that statement's exception: then nothing was committed.
            boolean commitFailed =
                    e instanceof TransactionSystemException failure && failure.getApplicationException() == null;
            log.warn(
                    "Write database unavailable, {} requests refused{}: {}",
                    group.size(),
                    commitFailed ? " with their outcome unknown" : "",
                    e.getMessage());
            failAll(
                    group,
                    () -> commitFailed
                            ? new WriteOutcomeUnknown("the connection broke while committing", e)
                            : new WriteStoreUnavailable("the write database is unreachable", e));
            return;
        } catch (DataAccessException e) {
            if (group.size() > 1) {
                // Something in the group broke the transaction: apply each request alone so that it fails alone.
                log.warn("Group of {} requests failed ({}); applying them one by one", group.size(), e.getMessage());
                group.forEach(unit -> process(List.of(unit), totalsSlot));
                return;
            }
            log.error("Request failed in the write database", e);
            failAll(group, () -> e);
            return;
        }
        handOver(outcomes, committedAt);
    }

    // The publisher answers the group's requests once their events were offered to Redis.
    private void handOver(Map<PendingUnit, Outcome> outcomes, long committedAt) {
        var events = new ArrayList<RecordEvent>();
        Map<Long, String> traceparents = null;
        for (var unitOutcome : outcomes.entrySet()) {
            if (unitOutcome.getValue() instanceof Outcome.Applied applied) {
                String traceparent = unitOutcome.getKey().traceparent();
                for (StoredCommand c : applied.commands()) {
                    events.add(c.event());
                    if (traceparent != null) {
                        if (traceparents == null) {
                            traceparents = new HashMap<>();
                        }
                        traceparents.put(c.id(), traceparent);
                    }
                }
            }
        }
        publisher.publish(
                events,
                traceparents == null ? Map.of() : traceparents,
                committedAt,
                streamIds ->
                        outcomes.forEach((unit, outcome) -> unit.outcome().complete(withEventIds(outcome, streamIds))));
    }

    private static Outcome withEventIds(Outcome outcome, Map<Long, String> streamIds) {
        if (outcome instanceof Outcome.Applied applied && !streamIds.isEmpty()) {
            return new Outcome.Applied(applied.commands().stream()
                    .map(c -> c.withEventId(streamIds.get(c.id())))
                    .toList());
        }
        return outcome;
    }

    // An exception per request: the response is built from it.
    private static void failAll(List<PendingUnit> group, Supplier<RuntimeException> failure) {
        group.forEach(unit -> unit.outcome().completeExceptionally(failure.get()));
    }

    @Override
    public void start() {
        running = true;
        // Each committer counts into a totals row of its own; another instance most likely picked other rows.
        int firstSlot = ThreadLocalRandom.current().nextInt(CommandRepository.TOTALS_SLOTS);
        for (int i = 0; i < properties.committers(); i++) {
            int slot = (firstSlot + i) % CommandRepository.TOTALS_SLOTS;
            committers.add(Thread.ofPlatform()
                    .name("group-committer-" + i)
                    .daemon(false)
                    .start(() -> run(slot)));
        }
        log.info(
                "Group commit started with {} committers, up to {} commands per transaction",
                properties.committers(),
                properties.groupMaxCommands());
    }

    /** Refuses new requests, then lets the committers finish everything already queued. */
    @Override
    public void stop() {
        running = false;
        committers.forEach(this::join);
        committers.clear();
        PendingUnit left;
        while ((left = queue.poll()) != null) {
            left.outcome().completeExceptionally(new WriteStoreUnavailable("the write service is shutting down"));
        }
    }

    private void join(Thread thread) {
        try {
            thread.join(properties.commitTimeout().toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /**
     * Stops after the web server has stopped taking requests, before the publisher it hands over to, and before the
     * connection pool closes.
     */
    @Override
    public int getPhase() {
        return CommittedPublisher.PHASE + 1;
    }
}
