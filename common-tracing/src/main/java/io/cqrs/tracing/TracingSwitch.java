package io.cqrs.tracing;

import java.util.Map;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Leaves Spring Boot's tracing and OpenTelemetry auto-configuration out unless {@code cqrs.tracing.enabled} is true, so
 * that tracing off costs what it cost before it existed: no tracer, no tracing handler on each request's observation,
 * no OpenTelemetry SDK, no observation of each Redis command. (Boot's own switch, {@code
 * management.tracing.export.enabled}, only stops the export: its tracer still samples and records spans.)
 *
 * <p>It runs after the configuration files are read, so the setting may come from the environment or a file alike. The
 * exclusion is a default: a {@code spring.autoconfigure.exclude} set anywhere else replaces it.
 */
class TracingSwitch implements EnvironmentPostProcessor, Ordered {

    static final String ENABLED = "cqrs.tracing.enabled";

    private static final String EXCLUDED = String.join(
            ",",
            "org.springframework.boot.micrometer.tracing.autoconfigure.MicrometerTracingAutoConfiguration",
            "org.springframework.boot.micrometer.tracing.opentelemetry.autoconfigure.OpenTelemetryTracingAutoConfiguration",
            "org.springframework.boot.micrometer.tracing.opentelemetry.autoconfigure.otlp.OtlpTracingAutoConfiguration",
            "org.springframework.boot.opentelemetry.autoconfigure.OpenTelemetrySdkAutoConfiguration",
            "org.springframework.boot.opentelemetry.autoconfigure.logging.OpenTelemetryLoggingAutoConfiguration",
            "org.springframework.boot.opentelemetry.autoconfigure.logging.otlp.OtlpLoggingAutoConfiguration",
            // An observation of every Redis command (the lettuce_* meters, and a span each when tracing is on): no
            // alert or panel reads them, and the write path sends an XADD per write.
            "org.springframework.boot.data.redis.autoconfigure.observation.LettuceObservationAutoConfiguration");

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        if (!environment.getProperty(ENABLED, Boolean.class, false)) {
            environment
                    .getPropertySources()
                    .addLast(new MapPropertySource(
                            "cqrs-tracing-off", Map.of("spring.autoconfigure.exclude", EXCLUDED)));
        }
    }

    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}
