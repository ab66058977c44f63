package io.cqrs.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.jayway.jsonpath.JsonPath;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.ServiceProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * With tracing on, one write, its projection and a read-your-writes read that sends the write's {@code traceparent}
 * show as one trace: the write's server span is a child of the client's span, the projection's span a child of the
 * write's (its trace context travelled in the event), and the read's server span another child of the client's.
 *
 * <p>The three services run as processes, as in production, log in ECS JSON ({@code LOG_FORMAT=ecs}) and write their
 * spans to their logs as OTLP JSON ({@code CQRS_TRACING_LOG_SPANS}); the test reads the spans back from there and
 * prints the trace.
 */
class TraceIT {

    private static final Duration EXPORTED = Duration.ofSeconds(30);

    @Test
    void oneWriteItsProjectionAndTheReadShowAsOneTrace() {
        try (var stack = new Stack(
                        Map.of(
                                "CQRS_TRACING_ENABLED", "true",
                                "CQRS_TRACING_LOG_SPANS", "true",
                                "LOG_FORMAT", "ecs",
                                // Only what the client traces: no root spans of the services' own (probes, timers).
                                "CQRS_TRACING_SAMPLING_PROBABILITY", "0",
                                // Export finished spans within a fifth of a second, not Boot's 5 s.
                                "MANAGEMENT_OPENTELEMETRY_TRACING_EXPORT_SCHEDULE_DELAY", "200ms"),
                        Map.of(),
                        Map.of())
                .start()) {
            var random = ThreadLocalRandom.current();
            String traceId = HexFormat.of().toHexDigits(random.nextLong())
                    + HexFormat.of().toHexDigits(random.nextLong());
            String clientSpanId = HexFormat.of().toHexDigits(random.nextLong());
            String traceparent = "00-" + traceId + "-" + clientSpanId + "-01";
            String key = "traced " + System.nanoTime();

            var written = stack.write
                    .http()
                    .postJson("/write", "{\"key\": \"" + key + "\", \"value\": \"v\"}", "traceparent", traceparent);
            assertThat(written.statusCode()).as(written.body()).isEqualTo(200);
            long version = JsonPath.parse(written.body()).read("$.version", Long.class);
            HttpResponse<String> read = stack.read
                    .http()
                    .send(java.net.http.HttpRequest.newBuilder(stack.read
                                    .http()
                                    .uri("/read/" + LocalHttp.segment(key) + "?min_version=" + version))
                            .header("traceparent", traceparent)
                            .GET());
            assertThat(read.statusCode()).as(read.body()).isEqualTo(200);

            var trace = await().atMost(EXPORTED).until(() -> spans(stack, traceId), TraceIT::complete);

            Span write = server(trace, "write-service").orElseThrow();
            Span projection = trace.stream()
                    .filter(s -> s.service().equals("projector-service"))
                    .findFirst()
                    .orElseThrow();
            Span readSpan = server(trace, "read-service").orElseThrow();
            System.out.println(print(traceId, clientSpanId, trace));

            assertThat(write.parentSpanId()).isEqualTo(clientSpanId);
            assertThat(readSpan.parentSpanId()).isEqualTo(clientSpanId);
            assertThat(write.name()).contains("/write");
            assertThat(readSpan.name()).contains("/read/{key}");
            assertThat(projection.name()).isEqualTo("project record.written");
            assertThat(projection.attributes())
                    .containsEntry("cqrs.key", key)
                    .containsEntry("cqrs.version", Long.toString(version));
            // The projection hangs below the write: its parent is a span of the write service in this trace.
            Span parent = byId(trace, projection.parentSpanId()).orElseThrow();
            assertThat(parent.service()).isEqualTo("write-service");
            assertThat(ancestors(trace, projection)).contains(write);
        }
    }

    /** A span as the OTLP JSON exporter writes it, with the service that wrote it. */
    record Span(
            String service,
            String traceId,
            String spanId,
            String parentSpanId,
            String name,
            int kind,
            long startNanos,
            long endNanos,
            Map<String, String> attributes) {

        double millis() {
            return (endNanos - startNanos) / 1e6;
        }
    }

    private static boolean complete(List<Span> trace) {
        return server(trace, "write-service").isPresent()
                && server(trace, "read-service").isPresent()
                && trace.stream().anyMatch(s -> s.service().equals("projector-service"));
    }

    private static Optional<Span> server(List<Span> trace, String service) {
        return trace.stream()
                .filter(s -> s.service().equals(service) && s.kind() == 2)
                .findFirst();
    }

    private static Optional<Span> byId(List<Span> trace, String spanId) {
        return trace.stream().filter(s -> s.spanId().equals(spanId)).findFirst();
    }

    private static List<Span> ancestors(List<Span> trace, Span span) {
        var ancestors = new ArrayList<Span>();
        for (var parent = byId(trace, span.parentSpanId());
                parent.isPresent();
                parent = byId(trace, parent.get().parentSpanId())) {
            ancestors.add(parent.get());
        }
        return ancestors;
    }

    /** Every span of {@code traceId} the three services logged so far. */
    private static List<Span> spans(Stack stack, String traceId) {
        var spans = new ArrayList<Span>();
        for (ServiceProcess service : List.of(stack.write, stack.projector, stack.read)) {
            try {
                for (String line : Files.readAllLines(service.log(), StandardCharsets.UTF_8)) {
                    if (!line.contains(traceId) || !line.startsWith("{")) {
                        continue;
                    }
                    // An ECS log line, its message a line of OTLP JSON.
                    String message = JsonPath.parse(line).read("$.message", String.class);
                    int json = message.indexOf("{\"resource\"");
                    if (json >= 0) {
                        spans.addAll(parse(message.substring(json), traceId));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        spans.sort(Comparator.comparingLong(Span::startNanos));
        return spans;
    }

    private static List<Span> parse(String resourceSpans, String traceId) {
        var document = JsonPath.parse(resourceSpans);
        String service = attributes(document.read("$.resource.attributes")).get("service.name");
        List<Map<String, Object>> found = document.read("$.scopeSpans[*].spans[*]");
        var spans = new ArrayList<Span>();
        for (Map<String, Object> span : found) {
            if (!traceId.equals(span.get("traceId"))) {
                continue;
            }
            spans.add(new Span(
                    service,
                    traceId,
                    (String) span.get("spanId"),
                    String.valueOf(span.getOrDefault("parentSpanId", "")),
                    (String) span.get("name"),
                    ((Number) span.get("kind")).intValue(),
                    Long.parseLong(String.valueOf(span.get("startTimeUnixNano"))),
                    Long.parseLong(String.valueOf(span.get("endTimeUnixNano"))),
                    attributes(span.get("attributes"))));
        }
        return spans;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> attributes(@Nullable Object attributes) {
        if (!(attributes instanceof List<?> list)) {
            return Map.of();
        }
        return list.stream()
                .map(a -> (Map<String, Object>) a)
                .collect(Collectors.toMap(
                        a -> (String) a.get("key"),
                        a -> String.valueOf(((Map<String, Object>) a.get("value"))
                                .values()
                                .iterator()
                                .next()),
                        (x, y) -> x,
                        java.util.LinkedHashMap::new));
    }

    /** The trace as a tree: each span under its parent, with its service, kind, duration and a few attributes. */
    private static String print(String traceId, String clientSpanId, List<Span> trace) {
        var out = new StringBuilder("Trace " + traceId + " (" + trace.size() + " spans)\n");
        out.append("client span ").append(clientSpanId).append(" (the test, sent as traceparent)\n");
        printChildren(out, trace, clientSpanId, trace.getFirst().startNanos(), "  ");
        return out.toString();
    }

    private static void printChildren(StringBuilder out, List<Span> trace, String parent, long origin, String indent) {
        for (Span span : trace) {
            if (!span.parentSpanId().equals(parent)) {
                continue;
            }
            out.append(indent)
                    .append(String.format(
                            "└─ %-17s %-8s %-40s span %s  +%.1f ms, %.1f ms",
                            span.service(),
                            kind(span.kind()),
                            span.name(),
                            span.spanId(),
                            (span.startNanos() - origin) / 1e6,
                            span.millis()));
            span.attributes().entrySet().stream()
                    .filter(a -> a.getKey().startsWith("cqrs."))
                    .forEach(a -> out.append(' ').append(a.getKey()).append('=').append(a.getValue()));
            out.append('\n');
            printChildren(out, trace, span.spanId(), origin, indent + "   ");
        }
    }

    private static String kind(int kind) {
        return switch (kind) {
            case 2 -> "SERVER";
            case 3 -> "CLIENT";
            case 4 -> "PRODUCER";
            case 5 -> "CONSUMER";
            default -> "INTERNAL";
        };
    }
}
