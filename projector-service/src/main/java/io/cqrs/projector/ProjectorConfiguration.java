package io.cqrs.projector;

import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.RedisConnections;
import java.time.Clock;
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

    // The one connection for short commands (group, XACK, dead letters, inspection, trimming); each consumer's blocking
    // reader opens one of its own. Closed with the context.
    @Bean
    LazyRedisConnection redis(RedisConnections connections, ProjectorProperties properties) {
        return connections.lazy(properties.projector().commandTimeout());
    }
}
