package io.cqrs.projector.control;

import io.cqrs.apikeys.OperatorEndpoints;
import io.cqrs.projector.StreamConsumer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

@Configuration(proxyBeanMethods = false)
class ControlConfiguration {

    /** The projector endpoint is for operators: every call needs an API key with the admin scope. */
    @Bean
    OperatorEndpoints projectorControlEndpoints() {
        return OperatorEndpoints.of("projector");
    }

    /** 1 while a pause (of this instance or of the group) holds this instance's consumer, else 0. */
    @Bean
    MeterBinder projectorPausedGauge(StreamConsumer consumer) {
        return registry -> {
            var status = consumer.status();
            Gauge.builder("cqrs.projector.paused", consumer, c -> c.status().paused() ? 1 : 0)
                    .description("1 while an operator's pause (of this instance or its whole group) holds this"
                            + " projector, else 0")
                    .tag("stream", status.stream())
                    .tag("group", status.group())
                    .register(registry);
        };
    }
}
