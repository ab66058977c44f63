package io.cqrs.projector;

import io.lettuce.core.resource.ClientResources;
import java.time.Clock;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.annotation.EnableScheduling;

@Configuration(proxyBeanMethods = false)
@EnableScheduling
class ProjectorConfiguration {

    @Bean
    Clock clock() {
        return Clock.systemUTC();
    }

    // Boot's connection details (REDIS_URL, or a test's server) and client resources, but a client of our own: the
    // blocking reads need connections nobody else shares.
    @Bean
    StreamClient streamClient(
            DataRedisConnectionDetails details, ClientResources resources, ProjectorProperties properties) {
        return new StreamClient(details, resources, properties.projector().commandTimeout());
    }
}
