package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.validation.autoconfigure.ValidationAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.util.unit.DataSize;

class ProjectorPropertiesTests {

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(ProjectorProperties.class)
    static class Bound {}

    final ApplicationContextRunner contexts = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(ValidationAutoConfiguration.class))
            .withUserConfiguration(Bound.class)
            .withPropertyValues("cqrs.events.stream=cqrs:events", "cqrs.events.group=projector");

    @Test
    void defaultsEverySettingOfTheLoop() {
        contexts.run(context -> {
            var projector = context.getBean(ProjectorProperties.class).projector();
            assertThat(projector.batchSize()).isEqualTo(8000);
            assertThat(projector.batchMaxBytes()).isEqualTo(DataSize.ofMegabytes(32));
            assertThat(projector.maxValueBytes()).isEqualTo(65536);
            assertThat(projector.pollInterval()).isEqualTo(Duration.ofSeconds(1));
            assertThat(projector.maxDeliveries()).isEqualTo(5);
            assertThat(projector.suspectMaxBackoff()).isEqualTo(Duration.ofMinutes(10));
            assertThat(projector.consumer())
                    .endsWith("-" + ProcessHandle.current().pid());
        });
    }

    @Test
    void takesDurationsWithUnitsAndPlainMilliseconds() {
        contexts.withPropertyValues("cqrs.projector.poll-interval=250", "cqrs.projector.claim-idle=2m")
                .run(context -> {
                    var projector = context.getBean(ProjectorProperties.class).projector();
                    assertThat(projector.pollInterval()).isEqualTo(Duration.ofMillis(250));
                    assertThat(projector.claimIdle()).isEqualTo(Duration.ofMinutes(2));
                });
    }

    @Test
    void takesTheBatchBudgetWithUnitsAndRefusesNone() {
        contexts.withPropertyValues("cqrs.projector.batch-max-bytes=4MB")
                .run(context -> assertThat(context.getBean(ProjectorProperties.class)
                                .projector()
                                .batchMaxBytes())
                        .isEqualTo(DataSize.ofMegabytes(4)));
        contexts.withPropertyValues("cqrs.projector.batch-max-bytes=0B")
                .run(context -> assertThat(context)
                        .hasFailed()
                        .getFailure()
                        .rootCause()
                        .hasMessageContaining("cqrs.projector.batch-max-bytes must be positive"));
    }

    @Test
    void keepsAConfiguredConsumerName() {
        contexts.withPropertyValues("cqrs.projector.consumer=projector-a")
                .run(context -> assertThat(context.getBean(ProjectorProperties.class)
                                .projector()
                                .consumer())
                        .isEqualTo("projector-a"));
    }

    @Test
    void refusesToStartWithoutAStream() {
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(ValidationAutoConfiguration.class))
                .withUserConfiguration(Bound.class)
                .run(context -> assertThat(context)
                        .hasFailed()
                        .getFailure()
                        .rootCause()
                        .hasMessageContaining("cqrs.events.stream"));
    }

    @Test
    void refusesToStartWithAnInvalidSetting() {
        contexts.withPropertyValues("cqrs.projector.batch-size=0", "cqrs.events.group=")
                .run(context -> assertThat(context)
                        .hasFailed()
                        .getFailure()
                        .rootCause()
                        .hasMessageContaining("projector.batchSize")
                        .hasMessageContaining("events.group"));
    }
}
