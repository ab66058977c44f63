package io.cqrs.read.query;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.validation.autoconfigure.ValidationAutoConfiguration;
import org.springframework.context.annotation.Configuration;

class WaitPropertiesTests {

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(WaitProperties.class)
    static class Bound {}

    final ApplicationContextRunner contexts = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(ValidationAutoConfiguration.class))
            .withUserConfiguration(Bound.class);

    @Test
    void cutsLongWaitsToTheMaximum() {
        contexts.withPropertyValues("cqrs.read.wait.max-wait=2s").run(context -> {
            var waits = context.getBean(WaitProperties.class);
            assertThat(waits.defaultWait()).isEqualTo(Duration.ofSeconds(1));
            assertThat(waits.capped(Duration.ofMinutes(1))).isEqualTo(Duration.ofSeconds(2));
            assertThat(waits.capped(Duration.ofMillis(5))).isEqualTo(Duration.ofMillis(5));
            assertThat(waits.retryAfterSeconds()).isEqualTo(1);
        });
    }

    @Test
    void lets512ReadsWaitByDefaultAndRefusesACapOfZero() {
        contexts.run(context ->
                assertThat(context.getBean(WaitProperties.class).maxWaiters()).isEqualTo(512));
        contexts.withPropertyValues("cqrs.read.wait.max-waiters=0")
                .run(context ->
                        assertThat(context).hasFailed().getFailure().rootCause().hasMessageContaining("maxWaiters"));
    }

    @Test
    void refusesADefaultWaitLongerThanTheMaximum() {
        contexts.withPropertyValues("cqrs.read.wait.default-wait=5s", "cqrs.read.wait.max-wait=1s")
                .run(context -> assertThat(context)
                        .hasFailed()
                        .getFailure()
                        .rootCause()
                        .hasMessageContaining("cqrs.read.wait")
                        .hasMessageContaining("default-wait must not be longer than max-wait"));
    }

    @Test
    void refusesANegativeWait() {
        contexts.withPropertyValues("cqrs.read.wait.default-wait=-1s")
                .run(context ->
                        assertThat(context).hasFailed().getFailure().rootCause().hasMessageContaining("defaultWait"));
    }
}
