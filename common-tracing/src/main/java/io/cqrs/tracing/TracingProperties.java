package io.cqrs.tracing;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Ours beside Spring Boot's tracing settings ({@code management.tracing.*}, which sample and propagate).
 *
 * @param enabled whether the service traces at all ({@link TracingSwitch}); off, Boot's tracing is left out entirely
 * @param logSpans whether every finished span is also written to the log, as one line of OTLP JSON
 */
@ConfigurationProperties("cqrs.tracing")
public record TracingProperties(
        @DefaultValue("false") boolean enabled,
        @DefaultValue("false") boolean logSpans) {}
