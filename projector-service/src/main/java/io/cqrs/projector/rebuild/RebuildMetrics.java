package io.cqrs.projector.rebuild;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;

/**
 * The {@code cqrs_rebuild_*} metrics of the rebuilds this instance runs: progress gauges of the latest one (NaN before
 * the first), keys copied and repaired, the switch's duration, and the runs by outcome.
 */
@Component
class RebuildMetrics {

    private final AtomicReference<@Nullable RebuildRun> latest = new AtomicReference<>();
    private final Counter copied;
    private final Counter repaired;
    private final Timer switchTime;
    private final MeterRegistry meters;

    RebuildMetrics(MeterRegistry meters) {
        this.meters = meters;
        gauge(
                "cqrs.rebuild.running",
                "1 while this instance runs a rebuild, else 0",
                run -> run.state().finished() ? 0 : 1);
        gauge(
                "cqrs.rebuild.keys.done",
                "keys the latest rebuild has copied from the write database",
                run -> run.keysDone());
        gauge(
                "cqrs.rebuild.keys.in.scope",
                "keys in the latest rebuild's scope when it started",
                RebuildRun::keysTotal);
        gauge("cqrs.rebuild.keys.per.second", "the latest rebuild's copy rate", RebuildRun::rate);
        gauge("cqrs.rebuild.eta.seconds", "seconds until the latest rebuild's copy is done", run -> {
            Double eta = run.etaSeconds();
            return eta == null ? Double.NaN : eta;
        });
        this.copied = Counter.builder("cqrs.rebuild.keys.copied")
                .description("keys copied from the write database into a rebuild's shadow table")
                .register(meters);
        this.repaired = Counter.builder("cqrs.rebuild.keys.repaired")
                .description("shadow keys the verification put right (copied again, set back or removed)")
                .register(meters);
        this.switchTime = Timer.builder("cqrs.rebuild.switch")
                .description("the switch's transaction: the shadow into the read model")
                .register(meters);
    }

    private void gauge(String name, String description, ToDoubleFunction<RebuildRun> value) {
        Gauge.builder(name, latest, ref -> {
                    RebuildRun run = ref.get();
                    return run == null ? Double.NaN : value.applyAsDouble(run);
                })
                .description(description)
                .register(meters);
    }

    void started(RebuildRun run) {
        latest.set(run);
    }

    void copied(int keys) {
        copied.increment(keys);
    }

    void repaired(int keys) {
        repaired.increment(keys);
    }

    void switched(double seconds) {
        switchTime.record(Duration.ofNanos((long) (seconds * 1e9)));
    }

    void finished(RebuildState outcome) {
        Counter.builder("cqrs.rebuild.runs")
                .description("rebuilds this instance ran, by outcome")
                .tag("outcome", outcome.label())
                .register(meters)
                .increment();
    }
}
