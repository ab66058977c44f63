package io.cqrs.read.query;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /read/{key}}. The key is one path segment, URL-encoded ({@code %2F} for {@code /}); Tomcat passes encoded
 * slashes through (see {@code web.TomcatPaths}) and Spring decodes the segment once.
 */
@RestController
class ReadController {

    private final ReadService reads;
    private final Outcome found;
    private final Outcome notFound;
    private final Outcome versionNotReached;
    private final Outcome failed;

    ReadController(ReadService reads, MeterRegistry meters) {
        this.reads = reads;
        this.found = new Outcome("found", meters);
        this.notFound = new Outcome("not_found", meters);
        this.versionNotReached = new Outcome("version_not_reached", meters);
        this.failed = new Outcome("error", meters);
    }

    @GetMapping("/read/{key}")
    RecordView read(
            @PathVariable String key,
            @RequestParam(name = "min_version", required = false) @Positive @Nullable Long minVersion,
            @RequestParam(name = "wait_ms", required = false) @PositiveOrZero @Nullable Long waitMs) {
        long start = System.nanoTime();
        Outcome outcome = failed;
        try {
            var read = reads.read(key, minVersion, waitMs == null ? null : Duration.ofMillis(waitMs));
            outcome = found;
            return RecordView.from(read);
        } catch (RecordNotFound e) {
            outcome = notFound;
            throw e;
        } catch (VersionNotReached e) {
            outcome = versionNotReached;
            throw e;
        } finally {
            outcome.record(System.nanoTime() - start);
        }
    }

    /** The response body; field names kept from the prototype so its clients keep working. */
    record RecordView(
            boolean success,
            String key,
            String value,
            long version,
            @JsonProperty("read_count") long readCount,
            @JsonProperty("write_count") long writeCount,
            @JsonProperty("created_at") Instant createdAt,
            @JsonProperty("updated_at") Instant updatedAt,
            @JsonProperty("from_read_db") boolean fromReadDb) {

        static RecordView from(ReadService.Counted read) {
            StoredRecord record = read.record();
            return new RecordView(
                    true,
                    record.key(),
                    record.value() == null ? "" : record.value(),
                    record.version(),
                    read.readCount(),
                    record.writeCount(),
                    record.createdAt(),
                    record.updatedAt(),
                    true);
        }
    }

    /** Per-result request counter and latency histogram, registered once so the hot path only records. */
    private static final class Outcome {
        private final Counter requests;
        private final Timer latency;

        Outcome(String result, MeterRegistry meters) {
            this.requests = Counter.builder("cqrs.read.requests")
                    .description("GET /read requests by result")
                    .tag("result", result)
                    .register(meters);
            this.latency = Timer.builder("cqrs.read.request.duration")
                    .description("GET /read latency by result, as handled by the controller")
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
