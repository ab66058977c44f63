package io.cqrs.stream;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.TimeoutOptions;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.data.redis.autoconfigure.LettuceClientOptionsBuilderCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/**
 * The Redis client options every service shares, applied to the client Boot builds, and {@link RedisConnections} over
 * it. While Redis is unreachable, commands are rejected at once instead of buffered until they time out (the outbox
 * keeps the events, the projector backs off, health answers at once), and the queue of commands in flight is bounded,
 * so an outage can neither hang a request nor fill the heap.
 */
@AutoConfiguration(before = DataRedisAutoConfiguration.class)
public class RedisConnectionsAutoConfiguration {

    /** Commands one connection may have in flight; a pipelined publisher sends at most a few groups' events at once. */
    static final int REQUEST_QUEUE_SIZE = 100_000;

    @Bean
    LettuceClientOptionsBuilderCustomizer failFastWhileDisconnected() {
        return options -> options.disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .requestQueueSize(REQUEST_QUEUE_SIZE)
                .timeoutOptions(TimeoutOptions.enabled());
    }

    @Bean
    @ConditionalOnMissingBean
    RedisConnections redisConnections(LettuceConnectionFactory factory) {
        return new RedisConnections(factory);
    }
}
