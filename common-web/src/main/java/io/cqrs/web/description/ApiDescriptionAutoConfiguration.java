package io.cqrs.web.description;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.PropertyNamingStrategy;
import io.cqrs.apikeys.ApiAccess;
import io.swagger.v3.core.jackson.ModelResolver;
import io.swagger.v3.core.util.Json;
import io.swagger.v3.core.util.Json31;
import org.jspecify.annotations.Nullable;
import org.springdoc.core.configuration.SpringDocConfiguration;
import org.springdoc.core.properties.SpringDocConfigProperties;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.core.env.Environment;
import org.springframework.http.HttpMethod;

/**
 * The parts of a service's OpenAPI description (springdoc: {@code /v3/api-docs}, Swagger UI at {@code
 * /swagger-ui.html}) that every service shares. Only in a service that has springdoc on its class path, unless
 * {@code springdoc.api-docs.enabled=false} turns springdoc off. The
 * description is built at the first request for it, not at start-up, and holds no data: it is open without a key.
 */
@AutoConfiguration(beforeName = "org.springdoc.core.configuration.SpringDocConfiguration")
@ConditionalOnClass(SpringDocConfiguration.class)
@ConditionalOnProperty(name = "springdoc.api-docs.enabled", matchIfMissing = true)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
public class ApiDescriptionAutoConfiguration {

    private static final String NAMING_STRATEGY = "spring.jackson.property-naming-strategy";

    @Bean
    SharedDescription sharedApiDescription() {
        return new SharedDescription();
    }

    @Bean
    OperationProblems operationProblems() {
        return new OperationProblems();
    }

    /**
     * Field names as the services write them: springdoc looks at the types through a Jackson 2 mapper of its own, which
     * knows nothing of {@code spring.jackson.property-naming-strategy} (the services' Jackson 3 mapper does), so the
     * description would say {@code writeCount} where the body says {@code write_count}.
     */
    @Bean
    ModelResolver namedLikeTheServiceModelResolver(SpringDocConfigProperties springDoc, Environment environment) {
        boolean openApi31 = springDoc.isOpenapi31();
        ObjectMapper mapper = (openApi31 ? Json31.mapper() : Json.mapper()).copy();
        PropertyNamingStrategy naming = namingStrategy(environment.getProperty(NAMING_STRATEGY));
        if (naming != null) {
            mapper.setPropertyNamingStrategy(naming);
        }
        return new ModelResolver(mapper).openapi31(openApi31);
    }

    /**
     * The description and Swagger UI, open to anyone: they describe the API and hold no data. Last, after the service's
     * own rules (registered before any auto-configuration), so that an API request is matched before it meets these
     * paths.
     */
    @Bean
    @Order(Ordered.LOWEST_PRECEDENCE)
    ApiAccess apiDescriptionAccess(Environment environment) {
        String apiDocs = environment.getProperty("springdoc.api-docs.path", "/v3/api-docs");
        String swaggerUi = environment.getProperty("springdoc.swagger-ui.path", "/swagger-ui.html");
        return rules -> rules.requestMatchers(
                        HttpMethod.GET, apiDocs, apiDocs + ".yaml", apiDocs + "/**", swaggerUi, "/swagger-ui/**")
                .permitAll();
    }

    /** The strategy Boot's property names (a constant of Jackson's {@code PropertyNamingStrategies}), in Jackson 2. */
    static @Nullable PropertyNamingStrategy namingStrategy(@Nullable String name) {
        if (name == null || name.isBlank()) {
            return null;
        }
        try {
            return (PropertyNamingStrategy)
                    PropertyNamingStrategies.class.getField(name.trim()).get(null);
        } catch (NoSuchFieldException | IllegalAccessException | ClassCastException e) {
            throw new IllegalStateException(
                    "The API description cannot follow " + NAMING_STRATEGY + "=" + name
                            + ": name one of Jackson's PropertyNamingStrategies (SNAKE_CASE, KEBAB_CASE...)",
                    e);
        }
    }
}
