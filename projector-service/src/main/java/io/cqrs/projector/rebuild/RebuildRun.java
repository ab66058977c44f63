package io.cqrs.projector.rebuild;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One rebuild, step by step, on a thread of its own in the instance that started it: the copy from the write database
 * into the shadow (keyset pages, throttled), the catch-up (the settle time, for what was in flight to land), the
 * verification against the write database (range summaries, then key by key where they differ; differences copied
 * again), and the switch. The dual apply is on before it starts. However it ends, the dual apply is turned off and the
 * shadow dropped; a cancel is seen between two pages.
 */
final class RebuildRun implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(RebuildRun.class);

    /** Most differences a failed rebuild reports. */
    static final int MAX_REPORTED = 100;

    /** What the run needs around it. */
    record Tools(
            WriteDatabase write,
            ShadowTable shadows,
            RebuildRepository rebuilds,
            Switch switcher,
            RebuildMetrics metrics,
            RebuildProperties properties) {}

    private final long id;
    private final ShadowTarget shadow;
    private final int keysPerSecond;
    private final long keysTotal;
    private final Tools tools;

    private volatile RebuildState state = RebuildState.COPYING;
    private final AtomicLong keysDone = new AtomicLong();
    private final AtomicLong keysVerified = new AtomicLong();
    private final AtomicLong keysRepaired = new AtomicLong();
    private final long startedNanos = System.nanoTime();
    private volatile long copyNanos = -1;
    private final CountDownLatch cancelled = new CountDownLatch(1);

    RebuildRun(long id, ShadowTarget shadow, int keysPerSecond, long keysTotal, Tools tools) {
        this.id = id;
        this.shadow = shadow;
        this.keysPerSecond = keysPerSecond;
        this.keysTotal = keysTotal;
        this.tools = tools;
    }

    long id() {
        return id;
    }

    RebuildState state() {
        return state;
    }

    long keysDone() {
        return keysDone.get();
    }

    long keysTotal() {
        return keysTotal;
    }

    /** The copy's rate so far, in keys per second. */
    double rate() {
        long nanos = copyNanos >= 0 ? copyNanos : System.nanoTime() - startedNanos;
        return nanos <= 0 ? 0 : keysDone.get() * 1e9 / nanos;
    }

    /** Seconds until the copy is done at the current rate; 0 once it is, null while the rate is unknown. */
    @Nullable
    Double etaSeconds() {
        if (copyNanos >= 0 || state != RebuildState.COPYING) {
            return 0.0;
        }
        double rate = rate();
        return rate <= 0 ? null : Math.max(0, keysTotal - keysDone.get()) / rate;
    }

    /** Asks the run to stop at its next step (not once the switch has begun). */
    void cancel() {
        cancelled.countDown();
    }

    /**
     * Stores the progress and says the instance is alive; sees a cancel asked for through another instance. Called
     * every second or so by {@link Rebuilds}, apart from the run's own thread, so that a long statement does not stop
     * the heartbeat.
     */
    void tick() {
        RebuildState now = state;
        if (now.finished()) {
            return; // recorded by the run itself, with its finish time
        }
        if (tools.rebuilds().progress(id, now, keysDone.get(), keysVerified.get(), keysRepaired.get())) {
            cancel();
        }
    }

    /** The progress line the instance logs every few seconds. */
    void logProgress() {
        Double eta = etaSeconds();
        log.info(
                "Rebuild #{} of {} {}: {} of {} keys copied ({} %), {} keys/s, ETA {} s; {} verified, {} repaired",
                id,
                shadow.scope(),
                state.label(),
                keysDone.get(),
                keysTotal,
                keysTotal == 0 ? 100 : Math.min(100, keysDone.get() * 100 / keysTotal),
                Math.round(rate()),
                eta == null ? "?" : Math.round(eta),
                keysVerified.get(),
                keysRepaired.get());
    }

    @Override
    public void run() {
        try {
            copy();
            catchUp();
            verify();
            // From here on a cancel is refused (the row says switching); one asked for before is honoured.
            state = RebuildState.SWITCHING;
            if (tools.rebuilds().progress(id, state, keysDone.get(), keysVerified.get(), keysRepaired.get())) {
                cancel();
            }
            checkCancelled();
            Switch.Result switched = tools.switcher().run(id, shadow);
            state = RebuildState.DONE;
            tools.metrics().switched(switched.seconds());
            tools.metrics().finished(state);
            log.info(
                    "Rebuild #{} of {} done: {} keys copied, {} repaired; the switch updated {}, inserted {} and deleted"
                            + " {} keys in {} ms",
                    id,
                    shadow.scope(),
                    keysDone.get(),
                    keysRepaired.get(),
                    switched.updated(),
                    switched.inserted(),
                    switched.deleted(),
                    Math.round(switched.seconds() * 1000));
            drop();
        } catch (Cancelled e) {
            end(RebuildState.CANCELLED, null, List.of());
        } catch (VerificationFailed e) {
            end(RebuildState.FAILED, e.getMessage(), e.differences);
        } catch (RuntimeException | Error e) {
            log.error("Rebuild #{} of {} failed in state {}", id, shadow.scope(), state.label(), e);
            end(RebuildState.FAILED, state.label() + ": " + e, List.of());
        }
    }

    /** Copies every key in scope from the write database into the shadow, a page at a time, at the rate asked for. */
    private void copy() {
        String after = "";
        long started = System.nanoTime();
        while (true) {
            checkCancelled();
            List<CopiedRow> page =
                    tools.write().page(shadow.scope(), after, tools.properties().pageKeys());
            if (page.isEmpty()) {
                break;
            }
            tools.shadows().merge(shadow, page);
            after = page.getLast().key();
            long done = keysDone.addAndGet(page.size());
            tools.metrics().copied(page.size());
            // The throttle: the next page waits until the keys so far are due at the rate asked for.
            long due = started + (long) (done * 1e9 / keysPerSecond);
            pause(due - System.nanoTime());
        }
        copyNanos = System.nanoTime() - startedNanos;
        tools.rebuilds().copyFinished(id);
        tools.shadows().analyze(shadow);
        log.info("Rebuild #{} of {}: {} keys copied in {} s", id, shadow.scope(), keysDone.get(), copyNanos / 1e9);
    }

    /** Lets what was on its way at the end of the copy reach the shadow (through the dual apply) before comparing. */
    private void catchUp() {
        state = RebuildState.CATCHING_UP;
        pause(tools.properties().settle().toNanos());
    }

    /**
     * Compares the shadow with the write database; copies again whatever differs. Passes until one finds no difference
     * but keys in flight, then returns; after the last pass allowed, fails with the differences it still found.
     */
    private void verify() {
        state = RebuildState.VERIFYING;
        List<Difference> found = List.of();
        long differing = 0;
        for (int round = 1; round <= tools.properties().verifyRounds(); round++) {
            var sample = new ArrayList<Difference>();
            differing = pass(sample);
            if (differing == 0) {
                log.info("Rebuild #{} of {}: the shadow equals the write database", id, shadow.scope());
                return;
            }
            found = sample;
            log.warn(
                    "Rebuild #{} of {}: verification pass {} found {} keys that differ (first: {}); put right, checking"
                            + " again",
                    id,
                    shadow.scope(),
                    round,
                    differing,
                    sample.isEmpty() ? "-" : sample.getFirst());
        }
        throw new VerificationFailed(
                differing + " keys still differed from the write database after "
                        + tools.properties().verifyRounds() + " verification passes; nothing switched",
                found);
    }

    /** One verification pass over the scope; returns how many keys differed beyond those in flight. */
    private long pass(List<Difference> sample) {
        keysVerified.set(0);
        int rangeKeys = tools.properties().pageKeys();
        String after = "";
        long differing = 0;
        while (true) {
            checkCancelled();
            RangeSummary truth = tools.write().summary(shadow.scope(), after, rangeKeys);
            // The last range reaches to the end, so that keys only the shadow holds past the last one are seen too.
            @Nullable String upTo = truth.keys() < rangeKeys ? null : truth.lastKey();
            RangeSummary model = tools.shadows().summary(shadow, after, upTo);
            if (!model.sameAs(truth)) {
                differing += compare(after, upTo, sample);
            }
            keysVerified.addAndGet(truth.keys());
            if (upTo == null) {
                return differing;
            }
            after = upTo;
        }
    }

    /**
     * Compares a range key by key and puts the shadow right: keys missing or behind are copied again (with the version
     * guard, so nothing newer is undone), keys ahead of the write database set back to it, keys it lacks removed (each
     * only if the shadow still holds the version found). The shadow is read before the write database: versions only
     * grow there, and the shadow gets only what it committed, so a shadow version above it is never a write in flight.
     */
    private long compare(String after, @Nullable String upTo, List<Difference> sample) {
        int limit = tools.properties().pageKeys() * 4;
        Map<String, KeyRow> model = tools.shadows().rows(shadow, after, upTo, limit);
        Map<String, WriteDatabase.State> truth = tools.write()
                .states(shadow.scope(), after, upTo, limit, tools.properties().settle());
        // A side read only in part (a range that grew past the limit meanwhile) cannot tell a stray key from one past
        // the other side's end: only copies, which cannot hurt, and another pass.
        boolean partial = model.size() >= limit || truth.size() >= limit;
        var copyAgain = new LinkedHashSet<String>();
        var setBack = new HashMap<String, Long>();
        var remove = new HashMap<String, Long>();
        long differing = partial ? 1 : 0;
        for (var entry : truth.entrySet()) {
            KeyRow expected = entry.getValue().row();
            @Nullable KeyRow actual = model.get(entry.getKey());
            String kind;
            if (actual == null) {
                kind = "missing";
            } else if (actual.version() < expected.version()) {
                kind = "behind";
            } else if (actual.version() > expected.version()) {
                kind = "ahead";
            } else if (!actual.sameStateAs(expected)) {
                kind = "differs";
            } else {
                continue;
            }
            if (kind.equals("ahead")) {
                if (!partial) {
                    setBack.put(expected.key(), actual.version());
                }
            } else {
                copyAgain.add(expected.key());
                if (entry.getValue().unsettled()) {
                    continue; // in flight: copied again, not a difference
                }
            }
            differing++;
            note(
                    sample,
                    new Difference(expected.key(), kind, expected.version(), actual == null ? null : actual.version()));
        }
        var strays = new HashSet<>(model.keySet());
        strays.removeAll(truth.keySet());
        for (String key : strays) {
            if (!partial) {
                remove.put(key, model.get(key).version());
            }
            differing++;
            note(sample, new Difference(key, "absent", null, model.get(key).version()));
        }
        var setBackKeys = new ArrayList<String>(setBack.keySet());
        copyAgain.addAll(setBackKeys);
        List<CopiedRow> rows = copyAgain.isEmpty() ? List.of() : tools.write().rows(copyAgain);
        var merge = rows.stream().filter(r -> !setBack.containsKey(r.key())).toList();
        var back = rows.stream().filter(r -> setBack.containsKey(r.key())).toList();
        tools.shadows().merge(shadow, merge);
        int repaired = merge.size()
                + tools.shadows().setBack(shadow, back, setBack)
                + tools.shadows().remove(shadow, remove);
        keysRepaired.addAndGet(repaired);
        tools.metrics().repaired(repaired);
        return differing;
    }

    private static void note(List<Difference> sample, Difference difference) {
        if (sample.size() < MAX_REPORTED) {
            sample.add(difference);
        }
    }

    /** Ends the run other than by a switch: the dual apply off, the shadow dropped, the outcome recorded. */
    private void end(RebuildState outcome, @Nullable String error, List<Difference> differences) {
        state = outcome;
        try {
            tools.rebuilds().stopApplyingToShadow(shadow.table());
            drop();
        } catch (RuntimeException e) {
            // The next clean-up (any instance, on its timer) turns the dual apply off and drops the table.
            log.warn("Rebuild #{}: cannot clean up after it ({}); left to the next clean-up", id, e.toString());
        }
        try {
            tools.rebuilds().finish(id, outcome, error, Difference.json(differences));
        } catch (RuntimeException e) {
            log.warn("Rebuild #{}: cannot record that it {} ({})", id, outcome.label(), e.toString());
        }
        tools.metrics().finished(outcome);
        if (outcome == RebuildState.CANCELLED) {
            log.info("Rebuild #{} of {} cancelled; the read model is as it was", id, shadow.scope());
        } else {
            log.warn("Rebuild #{} of {} failed, nothing switched: {}", id, shadow.scope(), error);
        }
    }

    private void drop() {
        try {
            tools.shadows().drop(shadow.table());
        } catch (RuntimeException e) {
            log.warn("Rebuild #{}: cannot drop {} ({}); left to the next clean-up", id, shadow.table(), e.toString());
        }
    }

    private void checkCancelled() {
        if (cancelled.getCount() == 0) {
            throw new Cancelled();
        }
    }

    /** Waits {@code nanos} unless cancelled meanwhile. */
    private void pause(long nanos) {
        if (nanos <= 0) {
            return;
        }
        try {
            if (cancelled.await(nanos, TimeUnit.NANOSECONDS)) {
                throw new Cancelled();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Cancelled();
        }
    }

    /** How long the run has been going. */
    Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - startedNanos);
    }

    private static final class Cancelled extends RuntimeException {
        Cancelled() {
            super("cancelled", null, false, false);
        }
    }

    private static final class VerificationFailed extends RuntimeException {
        private final List<Difference> differences;

        VerificationFailed(String message, List<Difference> differences) {
            super(message, null, false, false);
            this.differences = List.copyOf(differences);
        }
    }
}
