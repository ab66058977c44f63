package io.cqrs.read.query;

import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;
import java.time.Duration;
import java.time.Instant;
import org.jspecify.annotations.Nullable;
import org.slf4j.MDC;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /read/{key}}. The key is one path segment, URL-encoded ({@code %2F} for {@code /}); Tomcat passes encoded
 * slashes through (common-web), and Spring matches the raw path and decodes the segment once, so dot segments such as
 * {@code .} or {@code ..} are keys like any other. The plain, successful read is answered before it gets here, by
 * {@link PlainReadFilter}; this controller answers every other case.
 */
@RestController
class ReadController {

    private final ReadService reads;
    private final ReadMetrics metrics;

    /** The MDC field that names the key being read. */
    static final String KEY_IN_LOGS = "key";

    ReadController(ReadService reads, ReadMetrics metrics) {
        this.reads = reads;
        this.metrics = metrics;
    }

    @GetMapping("/read/{key}")
    RecordView read(
            @PathVariable String key,
            @RequestParam(name = "min_version", required = false) @Positive @Nullable Long minVersion,
            @RequestParam(name = "wait_ms", required = false) @PositiveOrZero @Nullable Long waitMs) {
        long start = System.nanoTime();
        ReadMetrics.Outcome outcome = metrics.failed;
        // The key in the log lines of the read (structured logs: a field), a wait for its version included.
        MDC.put(KEY_IN_LOGS, key);
        try {
            var read = reads.read(key, minVersion, waitMs == null ? null : Duration.ofMillis(waitMs));
            outcome = metrics.found;
            return RecordView.from(read);
        } catch (RecordNotFound e) {
            outcome = metrics.notFound;
            throw e;
        } catch (VersionNotReached e) {
            outcome = metrics.versionNotReached;
            throw e;
        } catch (TooManyWaiters e) {
            outcome = metrics.tooManyWaiters;
            throw e;
        } finally {
            MDC.remove(KEY_IN_LOGS);
            outcome.record(System.nanoTime() - start);
        }
    }

    /** The response body; field names kept from the prototype so its clients keep working. */
    record RecordView(
            boolean success,
            String key,
            String value,
            long version,
            long readCount,
            long writeCount,
            Instant createdAt,
            Instant updatedAt,
            boolean fromReadDb) {

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
}
