package io.cqrs.write.reconcile;

import io.cqrs.write.reconcile.Divergence.Kind;
import io.cqrs.write.reconcile.ReconciliationRepository.Checkpoint;
import io.lettuce.core.RedisException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;
import org.springframework.scheduling.annotation.SchedulingConfigurer;
import org.springframework.scheduling.config.ScheduledTaskRegistrar;
import org.springframework.transaction.TransactionException;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Continuously compares the read model with this database, the source of truth, and repairs what differs.
 *
 * <p>A pass walks {@code key_state} in key order, {@code rangeKeys} keys per step and at most {@code keysPerSecond}.
 * Each step compares the range's summary on both sides (count and summed hash, computed by each database); only a
 * range that differs is compared key by key, as anti-entropy does in Dynamo-style stores, so a pass over a converged
 * model costs two aggregate queries per range. A key that differs is recorded in {@code divergences}; unless it was
 * written within the projection lag plus {@code settle} (then it is in flight, not diverged) or is ahead of this
 * database, its latest command goes back into the outbox: the repair travels the normal path, through the stream and
 * the projector's version guard, never through a second write path into the read model.
 *
 * <p>Every {@code recheckInterval}, the known divergences are compared again: converged keys leave the list, the rest
 * are republished once more if their last repair had time to arrive, and the counts go to the read service's health
 * through {@link ReconciliationStatus}.
 *
 * <p>Why here: this service owns the truth and the outbox, so a repair is one insert in its own database; it needs
 * only read access to {@code records}. Several instances share one checkpoint row ({@code FOR UPDATE SKIP LOCKED}):
 * each step is done by whichever instance holds it, so a pass is never repeated in parallel.
 */
class Reconciler implements SchedulingConfigurer {

    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);
    /** A window longer than any key's history (a century: PostgreSQL intervals and Duration.toMillis take it). */
    private static final Duration ANY_CHANGE = Duration.ofDays(36_500);
    /** Known divergences compared again per recheck. */
    private static final int RECHECK_BATCH = 1000;

    private final ReconciliationRepository truth;
    private final ReadModel model;
    private final ReconciliationStatus status;
    private final ReconcileProperties properties;
    private final TransactionTemplate transactions;
    private final Counter keysChecked;
    private final Counter keysCompared;
    private final Counter repaired;
    private final Map<Kind, Counter> found = new EnumMap<>(Kind.class);
    private final Map<Kind, AtomicLong> known = new EnumMap<>(Kind.class);
    private final Timer passes;
    private final AtomicLong lastPassFinishedMillis = new AtomicLong();
    /** Local time before which no pass is due: saves a transaction per step while idle between passes. */
    private volatile long idleUntilNanos = System.nanoTime();

    Reconciler(
            ReconciliationRepository truth,
            ReadModel model,
            ReconciliationStatus status,
            ReconcileProperties properties,
            TransactionTemplate transactions,
            MeterRegistry meters) {
        this.truth = truth;
        this.model = model;
        this.status = status;
        this.properties = properties;
        this.transactions = transactions;
        this.keysChecked = Counter.builder("cqrs.reconcile.keys.checked")
                .description("Keys covered by reconciliation, by range summary or one by one")
                .register(meters);
        this.keysCompared = Counter.builder("cqrs.reconcile.keys.compared")
                .description("Keys compared one by one, in ranges whose summaries differed")
                .register(meters);
        this.repaired = Counter.builder("cqrs.reconcile.repairs")
                .description("Diverged keys whose latest command was republished through the outbox")
                .register(meters);
        for (Kind kind : Kind.values()) {
            found.put(
                    kind,
                    Counter.builder("cqrs.reconcile.divergences.found")
                            .description("Keys found diverged from the write database, by kind")
                            .tag("kind", kind.label())
                            .register(meters));
            var count = new AtomicLong();
            known.put(kind, count);
            Gauge.builder("cqrs.reconcile.divergences", count, AtomicLong::get)
                    .description("Keys currently known to differ from the write database, by kind")
                    .tag("kind", kind.label())
                    .register(meters);
        }
        this.passes = Timer.builder("cqrs.reconcile.pass")
                .description("Duration of whole reconciliation passes")
                .register(meters);
        Gauge.builder("cqrs.reconcile.last.pass.age", this, Reconciler::lastPassAgeSeconds)
                .description("Seconds since the last whole reconciliation pass ended (NaN before the first)")
                .baseUnit("seconds")
                .register(meters);
    }

    @Override
    public void configureTasks(ScheduledTaskRegistrar registrar) {
        registrar.addFixedDelayTask(this::step, properties.stepInterval());
        registrar.addFixedDelayTask(this::recheck, properties.recheckInterval());
    }

    /** One range of the running pass (starting a pass when one is due); does nothing while idle between passes. */
    void step() {
        if (System.nanoTime() - idleUntilNanos < 0) {
            return;
        }
        try {
            transactions.executeWithoutResult(tx -> truth.lockCheckpoint().ifPresent(this::step));
        } catch (DataAccessException | TransactionException e) {
            // Either database unreachable: the pass resumes at its checkpoint once both answer.
            log.debug("Reconciliation step skipped: {}", e.toString());
        }
    }

    private void step(Checkpoint checkpoint) {
        if (checkpoint.lastPassFinishedAt() != null) {
            lastPassFinishedMillis.set(checkpoint.lastPassFinishedAt().toEpochMilli());
        }
        if (checkpoint.passStartedAt() == null) {
            Instant due = checkpoint.lastPassFinishedAt() == null
                    ? checkpoint.now()
                    : checkpoint.lastPassFinishedAt().plus(properties.passInterval());
            if (due.isAfter(checkpoint.now())) {
                idleUntilNanos = System.nanoTime()
                        + Duration.between(checkpoint.now(), due).toNanos();
                return;
            }
            truth.startPass();
        }
        String after = checkpoint.nextAfter() == null ? "" : checkpoint.nextAfter();
        int limit = properties.rangeKeys();
        RangeSummary expected = truth.summary(after, limit);
        // Fewer keys than asked for: the last range, which also takes whatever the read model has beyond them.
        String upTo = expected.keys() < limit ? null : expected.lastKey();
        RangeSummary actual = model.summary(after, upTo, limit);
        if (actual.keys() == limit && !Objects.equals(actual.lastKey(), upTo)) {
            // The read model holds more keys there than the write database (keys ahead, e.g. after a restore of the
            // write database): a shorter range, so that neither side's rows exceed the limit.
            upTo = actual.lastKey();
            expected = truth.summary(after, upTo);
        }
        long keys = expected.keys();
        if (expected.sameAs(actual)) {
            truth.forget(after, upTo);
        } else {
            keys = compare(after, upTo);
        }
        keysChecked.increment(keys);
        if (upTo != null) {
            truth.advance(upTo, keys);
            return;
        }
        var pass = truth.finishPass(keys);
        passes.record(Duration.ofNanos((long) (pass.seconds() * 1e9)));
        lastPassFinishedMillis.set(System.currentTimeMillis());
        idleUntilNanos = System.nanoTime() + properties.passInterval().toNanos();
        log.debug("Reconciliation pass over {} keys done in {} s", pass.keys(), String.format("%.1f", pass.seconds()));
    }

    /** Compares a range key by key and repairs what differs; returns how many keys the write database has in it. */
    private long compare(String after, @Nullable String upTo) {
        Duration settle = settle();
        // The read model first: see KeyComparison.
        Map<String, KeyRow> actual = model.rows(after, upTo);
        Duration window = inFlightWindow(settle);
        var expected = truth.rows(after, upTo, window);
        var comparison = comparison(actual, expected, window);
        keysCompared.increment(expected.rows().size());
        var fresh = truth.replaceDivergences(after, upTo, comparison.divergences(), comparison.inFlight());
        fresh.forEach(d -> found.get(d.kind()).increment());
        List<String> republished = repair(comparison.divergences(), settle);
        if (!comparison.divergences().isEmpty()) {
            log.info(
                    "Reconciliation of keys ({}, {}]: {} diverged ({} newly found), {} republished, {} in flight",
                    after,
                    upTo == null ? "end" : upTo,
                    comparison.divergences().size(),
                    fresh.size(),
                    republished.size(),
                    comparison.inFlight().size());
        }
        return expected.rows().size();
    }

    /**
     * Compares the write database's rows with the read model's. A key that differs is in flight, not diverged, while its
     * latest command may still be on its way: changed within {@code window}, or its event not yet on the stream or put
     * there within {@code window} (a repair travels that way too). The outbox is asked about the keys that differ and
     * changed earlier only: under load every range has keys in flight, and asking for all of them cost more than the
     * range itself.
     */
    private KeyComparison comparison(
            Map<String, KeyRow> actual, ReconciliationRepository.Rows expected, Duration window) {
        var unsettled = new HashSet<>(expected.changedRecently());
        var earlier = KeyComparison.differing(actual, expected.rows()).stream()
                .filter(row -> !unsettled.contains(row.key()))
                .toList();
        unsettled.addAll(truth.onTheirWay(earlier, window));
        return KeyComparison.of(actual, expected.rows(), unsettled);
    }

    /** Compares the known divergences again, forgets those that converged, and reports what is left. */
    void recheck() {
        try {
            transactions.executeWithoutResult(tx -> recheckKnown());
            var counts = truth.countsByKind();
            counts.forEach((kind, count) -> known.get(kind).set(count));
            long ahead = counts.get(Kind.AHEAD);
            long diverged = counts.values().stream().mapToLong(Long::longValue).sum() - ahead;
            status.publish(
                    diverged,
                    ahead,
                    properties.recheckInterval().multipliedBy(5).plusSeconds(30));
        } catch (DataAccessException | TransactionException | RedisException e) {
            log.debug("Reconciliation recheck skipped: {}", e.toString());
        }
    }

    private void recheckKnown() {
        List<String> keys = truth.knownDivergences(RECHECK_BATCH);
        if (keys.isEmpty()) {
            return;
        }
        Duration settle = settle();
        Map<String, KeyRow> actual = model.rows(keys);
        Duration window = inFlightWindow(settle);
        var expected = truth.rows(keys, window);
        var comparison = comparison(actual, expected, window);
        Set<String> converged = comparison.converged(Set.copyOf(keys));
        truth.forget(converged);
        truth.record(comparison.divergences());
        List<String> republished = repair(comparison.divergences(), settle);
        if (!converged.isEmpty() || !republished.isEmpty()) {
            log.info(
                    "Reconciliation recheck: {} keys converged, {} still diverged, {} republished again",
                    converged.size(),
                    comparison.divergences().size(),
                    republished.size());
        }
    }

    /**
     * Republishes the repairable divergences whose last repair had the settle time to arrive; nothing while the
     * projection lag is unknown (a repair would only join the queue it is stuck in).
     */
    private List<String> repair(List<Divergence> divergences, @Nullable Duration settle) {
        List<String> keys = divergences.stream()
                .filter(d -> d.kind().repairable())
                .map(Divergence::key)
                .toList();
        if (keys.isEmpty() || settle == null) {
            return List.of();
        }
        List<String> republished = truth.republish(keys, settle);
        repaired.increment(republished.size());
        return republished;
    }

    /**
     * How long an event on the stream may take to reach the read model: the slowest group's lag plus the margin; null
     * when the lag cannot be known (Redis down, no group yet).
     */
    private @Nullable Duration settle() {
        OptionalDouble lag = status.projectionLagSeconds();
        if (lag.isEmpty()) {
            return null;
        }
        return properties.settle().plusMillis((long) (lag.getAsDouble() * 1000));
    }

    /**
     * How recent a change must be to count as in flight: the settle time, or, while the lag is unknown, any change at
     * all (then only keys ahead, which nothing in flight explains, are reported).
     */
    private static Duration inFlightWindow(@Nullable Duration settle) {
        return settle == null ? ANY_CHANGE : settle;
    }

    private double lastPassAgeSeconds() {
        long finished = lastPassFinishedMillis.get();
        return finished == 0 ? Double.NaN : (System.currentTimeMillis() - finished) / 1000.0;
    }
}
