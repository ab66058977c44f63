package io.cqrs.read.query;

import io.cqrs.apikeys.Scope;
import io.cqrs.web.description.ApiKeyScope;
import io.cqrs.web.description.ProblemResponse;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;
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
@Tag(name = "reads")
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
    @Operation(
            summary = "Read a record",
            description = "Counts the read: `read_count` includes this one. With `min_version`, waits until the"
                    + " projection has reached that version (read-your-writes with the `version` a write returned).")
    @ApiKeyScope(Scope.READ)
    @ProblemResponse(
            status = 400,
            types = {"about:blank", "invalid-key"},
            description = "`about:blank`: `min_version` or `wait_ms` is not a whole number in range, listed in"
                    + " `violations`; `invalid-key`: the key is longer than any that can be written")
    @ProblemResponse(
            status = 404,
            types = "record-not-found",
            description = "No live record under the key: never written, deleted, or not projected yet")
    @ProblemResponse(
            status = 503,
            types = {"version-not-reached", "too-many-waiters", "read-db-unavailable"},
            retryAfter = true,
            description = "`version-not-reached`: `min_version` was not reached within the wait (`min_version` and"
                    + " `version` in the body); `too-many-waiters`: too many reads wait for versions already;"
                    + " `read-db-unavailable`: the read database cannot be reached")
    RecordView read(
            @Parameter(description = "The key, URL-encoded as one path segment (`%2F` for `/`)") @PathVariable
                    String key,
            @Parameter(description = "Wait until the record has at least this version")
                    @RequestParam(name = "min_version", required = false)
                    @Positive
                    @Nullable
                    Long minVersion,
            @Parameter(description = "How long to wait for `min_version`, in ms (default 1000, at most 10000)")
                    @RequestParam(name = "wait_ms", required = false)
                    @PositiveOrZero
                    @Nullable
                    Long waitMs,
            HttpServletRequest request) {
        // A read PlainReadFilter waited for already is timed from its arrival there.
        long start =
                request.getAttribute(PlainReadFilter.STARTED) instanceof Long arrived ? arrived : System.nanoTime();
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
