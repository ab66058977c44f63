package io.cqrs.projector.deadletters;

import io.cqrs.apikeys.OperatorEndpoints;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

@Configuration(proxyBeanMethods = false)
class DeadLetterConfiguration {

    /** Listing dead letters shows the data they hold, so reading needs the admin scope too, not only changing them. */
    @Bean
    OperatorEndpoints deadLetterEndpoints() {
        return OperatorEndpoints.of("deadletters");
    }
}
