package io.cqrs.read.changes;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.validation.autoconfigure.ValidationAutoConfiguration;
import org.springframework.context.annotation.Configuration;

class ListenerPropertiesTests {

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(ListenerProperties.class)
    static class Bound {}

    final ApplicationContextRunner contexts = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(ValidationAutoConfiguration.class))
            .withUserConfiguration(Bound.class);

    @Test
    void refusesAFirstReconnectPauseLongerThanTheLongest() {
        contexts.withPropertyValues("cqrs.read.listener.reconnect-min=10s", "cqrs.read.listener.reconnect-max=1s")
                .run(context -> assertThat(context)
                        .hasFailed()
                        .getFailure()
                        .rootCause()
                        .hasMessageContaining("reconnect-min must not be longer than reconnect-max"));
    }

    @Test
    void refusesAPollThatWouldBlockForever() {
        // PgJDBC waits for a notification without end when asked to wait 0 ms: the loop would never look around.
        contexts.withPropertyValues("cqrs.read.listener.poll-interval=0")
                .run(context ->
                        assertThat(context).hasFailed().getFailure().rootCause().hasMessageContaining("pollInterval"));
    }
}
