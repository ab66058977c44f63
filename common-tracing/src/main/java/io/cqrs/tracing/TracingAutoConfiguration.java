package io.cqrs.tracing;

import io.micrometer.tracing.Tracer;
import io.micrometer.tracing.propagation.Propagator;
import io.opentelemetry.exporter.logging.otlp.OtlpJsonLoggingSpanExporter;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.micrometer.tracing.autoconfigure.MicrometerTracingAutoConfiguration;
import org.springframework.boot.micrometer.tracing.autoconfigure.NoopTracerAutoConfiguration;
import org.springframework.boot.micrometer.tracing.opentelemetry.autoconfigure.OpenTelemetryTracingAutoConfiguration;
import org.springframework.context.annotation.Bean;

/**
 * {@link TraceContexts} for the service's tracer (none while {@code cqrs.tracing.enabled} is false), and,
 * with {@code cqrs.tracing.log-spans} ({@link TracingProperties}), every finished span written to the log as one line of OTLP JSON.
 */
@AutoConfiguration(
        after = {
            OpenTelemetryTracingAutoConfiguration.class,
            NoopTracerAutoConfiguration.class,
            MicrometerTracingAutoConfiguration.class
        })
@EnableConfigurationProperties(TracingProperties.class)
public class TracingAutoConfiguration {

    @Bean
    TraceContexts traceContexts(ObjectProvider<Tracer> tracer, ObjectProvider<Propagator> propagator) {
        Tracer t = tracer.getIfAvailable();
        Propagator p = propagator.getIfAvailable();
        return t == null || p == null ? TraceContexts.off() : TraceContexts.of(t, p);
    }

    @Bean
    @ConditionalOnBooleanProperty({TracingSwitch.ENABLED, "cqrs.tracing.log-spans"})
    SpanExporter spanLog() {
        return OtlpJsonLoggingSpanExporter.create();
    }
}
