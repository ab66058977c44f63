package io.cqrs.tracing;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.tracing.Tracer;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

class TraceContextsTests {

    @Test
    void leavesBootsTracingOutWhenOff() {
        try (var context = start()) {
            assertThat(context.getBean(TraceContexts.class).enabled()).isFalse();
            assertThat(context.getBean(TraceContexts.class).current()).isNull();
            assertThat(context.getBeansOfType(OpenTelemetry.class)).isEmpty();
            assertThat(context.getBean(Tracer.class)).isSameAs(Tracer.NOOP);
        }
    }

    @Test
    void handsTheCurrentSampledSpanOnAsATraceparentAndContinuesIt() {
        try (var context = start("cqrs.tracing.enabled=true", "management.tracing.sampling.probability=1.0")) {
            var traces = context.getBean(TraceContexts.class);
            var tracer = context.getBean(Tracer.class);
            assertThat(traces.enabled()).isTrue();
            assertThat(traces.current()).as("outside any span").isNull();

            var request = tracer.nextSpan().name("request").start();
            String traceparent;
            try (var inScope = tracer.withSpan(request)) {
                traceparent = traces.current();
            } finally {
                request.end();
            }
            assertThat(traceparent)
                    .isEqualTo("00-" + request.context().traceId() + "-"
                            + request.context().spanId() + "-01");

            long start = Instant.now().toEpochMilli() * 1_000_000L;
            var builder = traces.childOf(traceparent, "project record.written", start);
            assertThat(builder).isNotNull();
            builder.start().end();

            context.getBean(SdkTracerProvider.class).forceFlush().join(5, java.util.concurrent.TimeUnit.SECONDS);
            SpanData child = context.getBean(InMemorySpanExporter.class).getFinishedSpanItems().stream()
                    .filter(s -> s.getName().equals("project record.written"))
                    .findFirst()
                    .orElseThrow();
            assertThat(child.getTraceId()).isEqualTo(request.context().traceId());
            assertThat(child.getParentSpanId()).isEqualTo(request.context().spanId());
            assertThat(child.getStartEpochNanos()).isEqualTo(start);
        }
    }

    @Test
    void handsNoTraceparentOnForASpanThatIsNotSampled() {
        try (var context = start("cqrs.tracing.enabled=true", "management.tracing.sampling.probability=0")) {
            var tracer = context.getBean(Tracer.class);
            var request = tracer.nextSpan().name("request").start();
            try (var inScope = tracer.withSpan(request)) {
                assertThat(context.getBean(TraceContexts.class).current()).isNull();
            } finally {
                request.end();
            }
        }
    }

    private static ConfigurableApplicationContext start(String... properties) {
        return new SpringApplicationBuilder(Application.class)
                .web(WebApplicationType.NONE)
                .properties(properties)
                .run();
    }

    @Configuration(proxyBeanMethods = false)
    @EnableAutoConfiguration
    static class Application {

        @Bean
        InMemorySpanExporter spans() {
            return InMemorySpanExporter.create();
        }
    }
}
