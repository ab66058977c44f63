package io.cqrs.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.cqrs.testsupport.RedisProcess;
import io.lettuce.core.AclSetuserArgs;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

/** Connections come from Boot's configuration, credentials and database included, and fail fast without Redis. */
class RedisConnectionsIT {

    static RedisProcess redis;

    final ApplicationContextRunner contexts = new ApplicationContextRunner()
            .withConfiguration(
                    AutoConfigurations.of(DataRedisAutoConfiguration.class, RedisConnectionsAutoConfiguration.class));

    @BeforeAll
    static void startRedisWithAUser() {
        redis = RedisProcess.start();
        var client = RedisClient.create(redis.uri());
        try (var connection = client.connect()) {
            connection
                    .sync()
                    .aclSetuser(
                            "projector",
                            AclSetuserArgs.Builder.on()
                                    .addPassword("s3cret")
                                    .allKeys()
                                    .allCommands());
        } finally {
            client.shutdown();
        }
    }

    @AfterAll
    static void stopRedis() {
        redis.close();
    }

    @Test
    void connectsWithTheUserPasswordAndDatabaseOfTheUrl() {
        contexts.withPropertyValues("spring.data.redis.url=redis://projector:s3cret@127.0.0.1:"
                        + redis.uri().getPort() + "/3")
                .run(context -> {
                    try (var connection =
                            context.getBean(RedisConnections.class).open(Duration.ofSeconds(2))) {
                        assertThat(connection.sync().aclWhoami()).isEqualTo("projector");
                        assertThat(connection.sync().clientInfo()).contains(" db=3 ");
                        assertThat(connection.getTimeout()).isEqualTo(Duration.ofSeconds(2));
                    }
                });
    }

    @Test
    void refusesAWrongPassword() {
        contexts.withPropertyValues("spring.data.redis.url=redis://projector:wrong@127.0.0.1:"
                        + redis.uri().getPort())
                .run(context -> assertThatThrownBy(
                                () -> context.getBean(RedisConnections.class).open(Duration.ofSeconds(2)))
                        .isInstanceOf(RedisException.class));
    }

    @Test
    void lazyConnectionOpensOnFirstUseAndRejectsCommandsWhileRedisIsDown() {
        try (var ownRedis = RedisProcess.start()) {
            contexts.withPropertyValues("spring.data.redis.url=" + ownRedis.uri())
                    .run(context -> {
                        try (var lazy = context.getBean(RedisConnections.class).lazy(Duration.ofSeconds(5))) {
                            assertThat(lazy.sync().ping()).isEqualTo("PONG");
                            ownRedis.stop();
                            // Once Lettuce has noticed (a command sent before that is cancelled, not rejected)...
                            await().atMost(Duration.ofSeconds(10))
                                    .until(() -> !lazy.get().isOpen());
                            // ...commands are rejected at once, not left to wait for the command timeout.
                            assertThatThrownBy(() -> lazy.sync().ping())
                                    .isInstanceOf(RedisException.class)
                                    .isNotInstanceOf(RedisCommandTimeoutException.class)
                                    .hasMessageContaining("not connected");
                            ownRedis.restart();
                            await().atMost(Duration.ofSeconds(10))
                                    .ignoreExceptions()
                                    .until(() -> "PONG".equals(lazy.sync().ping()));
                        }
                    });
        }
    }

    @Test
    void lazyConnectionOpensAgainWhenBootsClientIsMadeAnew() {
        contexts.withPropertyValues("spring.data.redis.url="
                        + RedisURI.create("127.0.0.1", redis.uri().getPort()))
                .run(context -> {
                    try (var lazy = context.getBean(RedisConnections.class).lazy(Duration.ofSeconds(2))) {
                        assertThat(lazy.sync().ping()).isEqualTo("PONG");
                        // What a context stop and start do to Boot's client: shut down, then built again.
                        var factory = context.getBean(LettuceConnectionFactory.class);
                        factory.stop();
                        factory.start();

                        assertThat(lazy.sync().ping()).isEqualTo("PONG");
                    }
                });
    }

    @Test
    void refusesSentinel() {
        contexts.withPropertyValues(
                        "spring.data.redis.sentinel.master=mymaster",
                        "spring.data.redis.sentinel.nodes=127.0.0.1:"
                                + redis.uri().getPort())
                .run(context -> assertThatThrownBy(
                                () -> context.getBean(RedisConnections.class).open(Duration.ofSeconds(1)))
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("standalone Redis"));
    }

    @Test
    void firstConnectFailsWhenRedisIsDown() {
        int port;
        try (var gone = RedisProcess.start()) {
            port = gone.uri().getPort();
        }
        contexts.withPropertyValues("spring.data.redis.url=redis://127.0.0.1:" + port)
                .run(context -> assertThatThrownBy(
                                () -> context.getBean(RedisConnections.class).open(Duration.ofSeconds(1)))
                        .isInstanceOf(RedisConnectionException.class));
    }
}
