package io.cqrs.read.query;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;
import org.springframework.stereotype.Component;

/** {@code GET /read} requests by result, counted and timed wherever they are answered. */
@Component
class ReadMetrics {

    final Outcome found;
    final Outcome notFound;
    final Outcome versionNotReached;
    final Outcome tooManyWaiters;
    final Outcome failed;

    ReadMetrics(MeterRegistry meters) {
        this.found = new Outcome("found", meters);
        this.notFound = new Outcome("not_found", meters);
        this.versionNotReached = new Outcome("version_not_reached", meters);
        this.tooManyWaiters = new Outcome("too_many_waiters", meters);
        this.failed = new Outcome("error", meters);
    }

    /** Per-result request counter and latency histogram, registered once so the hot path only records. */
    static final class Outcome {
        private final Counter requests;
        private final Timer latency;

        private Outcome(String result, MeterRegistry meters) {
            this.requests = Counter.builder("cqrs.read.requests")
                    .description("GET /read requests by result")
                    .tag("result", result)
                    .register(meters);
            this.latency = Timer.builder("cqrs.read.request.duration")
                    .description("GET /read latency by result, as handled by the application (filter or controller)")
                    .tag("result", result)
                    .publishPercentileHistogram()
                    .register(meters);
        }

        void record(long nanos) {
            requests.increment();
            latency.record(nanos, TimeUnit.NANOSECONDS);
        }
    }
}
