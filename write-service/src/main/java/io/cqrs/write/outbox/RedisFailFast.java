package io.cqrs.write.outbox;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.TimeoutOptions;
import org.springframework.boot.data.redis.autoconfigure.LettuceClientOptionsBuilderCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Makes a Redis outage fail fast instead of buffering: while disconnected, commands are rejected at once (the outbox
 * keeps the events, the sweeper publishes them later), and the queue of commands in flight is bounded.
 */
@Configuration(proxyBeanMethods = false)
class RedisFailFast {

    static final int REQUEST_QUEUE_SIZE = 100_000;

    @Bean
    LettuceClientOptionsBuilderCustomizer failFastWhileDisconnected() {
        return options -> options.disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .requestQueueSize(REQUEST_QUEUE_SIZE)
                .timeoutOptions(TimeoutOptions.enabled());
    }
}
