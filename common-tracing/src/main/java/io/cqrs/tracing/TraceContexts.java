package io.cqrs.tracing;

import io.micrometer.tracing.Span;
import io.micrometer.tracing.TraceContext;
import io.micrometer.tracing.Tracer;
import io.micrometer.tracing.propagation.Propagator;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The W3C trace context ({@code traceparent}) of the current span, to carry beside an event, and spans continued from
 * one. With tracing off (the default) it holds no tracer: {@link #current()} answers null after one field check, and
 * nothing else is ever called, so the hot paths pay nothing for it.
 */
public final class TraceContexts {

    /** The propagation field, as W3C Trace Context and {@link Propagator} name it. */
    public static final String TRACEPARENT = "traceparent";

    private static final TraceContexts OFF = new TraceContexts(null, null);

    private final @Nullable Tracer tracer;
    private final @Nullable Propagator propagator;

    private TraceContexts(@Nullable Tracer tracer, @Nullable Propagator propagator) {
        this.tracer = tracer;
        this.propagator = propagator;
    }

    /** No tracing: nothing is recorded, no trace context is handed on. */
    public static TraceContexts off() {
        return OFF;
    }

    /** Tracing through {@code tracer}, continuing trace contexts read by {@code propagator}. */
    public static TraceContexts of(Tracer tracer, Propagator propagator) {
        return tracer == Tracer.NOOP ? OFF : new TraceContexts(tracer, propagator);
    }

    public boolean enabled() {
        return tracer != null;
    }

    /**
     * The {@code traceparent} of the current span when it is sampled (recorded and exported), or null: without a
     * span, with tracing off, or when the trace was not sampled, so that only traces someone will see travel on.
     */
    public @Nullable String current() {
        var tracer = this.tracer;
        if (tracer == null) {
            return null;
        }
        Span span = tracer.currentSpan();
        if (span == null) {
            return null;
        }
        TraceContext context = span.context();
        if (!Boolean.TRUE.equals(context.sampled())) {
            return null;
        }
        return "00-" + context.traceId() + "-" + context.spanId() + "-01";
    }

    /**
     * Starts a span named {@code name}, a child of the span {@code traceparent} names (sampled as that one was), at
     * {@code startEpochNanos}; the caller tags and ends it. Null when tracing is off.
     */
    public Span.@Nullable Builder childOf(String traceparent, String name, long startEpochNanos) {
        var propagator = this.propagator;
        if (propagator == null) {
            return null;
        }
        return propagator
                .extract(
                        Map.of(TRACEPARENT, traceparent), (Map<String, String> carrier, String key) -> carrier.get(key))
                .name(name)
                .startTimestamp(startEpochNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }
}
