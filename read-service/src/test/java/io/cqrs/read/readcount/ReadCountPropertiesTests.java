package io.cqrs.read.readcount;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.validation.autoconfigure.ValidationAutoConfiguration;
import org.springframework.context.annotation.Configuration;

class ReadCountPropertiesTests {

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(ReadCountProperties.class)
    static class Bound {}

    final ApplicationContextRunner contexts = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(ValidationAutoConfiguration.class))
            .withUserConfiguration(Bound.class);

    @Test
    void refusesToStartWithoutFlushingOrRoomForCounts() {
        contexts.withPropertyValues(
                        "cqrs.read.count.flush-interval=0s",
                        "cqrs.read.count.max-keys=0",
                        "cqrs.read.count.shutdown-attempts=0")
                .run(context -> assertThat(context)
                        .hasFailed()
                        .getFailure()
                        .rootCause()
                        .hasMessageContaining("flushInterval")
                        .hasMessageContaining("maxKeys")
                        .hasMessageContaining("shutdownAttempts"));
    }
}
