package io.cqrs.web.description;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.cqrs.apikeys.ApiAccess;
import io.swagger.v3.core.jackson.ModelResolver;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;

class ApiDescriptionAutoConfigurationTests {

    private final WebApplicationContextRunner context = new WebApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(ApiDescriptionAutoConfiguration.class));

    @Test
    void staysOutOfTheWayWhenSpringdocIsTurnedOff() {
        context.withPropertyValues("springdoc.api-docs.enabled=false")
                .run(started -> assertThat(started)
                        .hasNotFailed()
                        .doesNotHaveBean(ModelResolver.class)
                        .doesNotHaveBean(ApiAccess.class));
    }

    @Test
    void namesFieldsAsTheServicesJacksonPropertySays() {
        assertThat(ApiDescriptionAutoConfiguration.namingStrategy("SNAKE_CASE"))
                .isSameAs(PropertyNamingStrategies.SNAKE_CASE);
        assertThat(ApiDescriptionAutoConfiguration.namingStrategy(null)).isNull();
        assertThatIllegalStateException()
                .isThrownBy(() -> ApiDescriptionAutoConfiguration.namingStrategy("com.example.OwnStrategy"))
                .withMessageContaining("spring.jackson.property-naming-strategy");
    }
}
