package io.cqrs.testsupport;

import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;
import org.testcontainers.DockerClientFactory;

/**
 * Decides, once per JVM, where the test servers come from.
 *
 * <p>Servers named by {@code CQRS_TEST_POSTGRES_URL} / {@code CQRS_TEST_REDIS_URL} win: whoever sets them wants
 * those. Otherwise containers when a Docker engine answers, and otherwise the local servers at their defaults.
 */
public final class TestServers {

    static final String POSTGRES_URL_VARIABLE = "CQRS_TEST_POSTGRES_URL";
    static final String REDIS_URL_VARIABLE = "CQRS_TEST_REDIS_URL";

    /** An administrative connection to the local server; tests get a database of their own beside it. */
    static final String DEFAULT_POSTGRES_URL = "jdbc:postgresql://127.0.0.1:5432/postgres?user=postgres";

    static final String DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

    private static volatile @Nullable Boolean containers;

    private TestServers() {}

    static boolean useContainers() {
        Boolean decided = containers;
        if (decided == null) {
            decided = decide(System.getenv());
            containers = decided;
        }
        return decided;
    }

    static boolean decide(Map<String, String> environment) {
        boolean named = isSet(environment.get(POSTGRES_URL_VARIABLE)) || isSet(environment.get(REDIS_URL_VARIABLE));
        return !named && DockerClientFactory.instance().isDockerAvailable();
    }

    static String postgresUrl() {
        return valueOr(System.getenv(POSTGRES_URL_VARIABLE), DEFAULT_POSTGRES_URL);
    }

    static String redisUrl() {
        return valueOr(System.getenv(REDIS_URL_VARIABLE), DEFAULT_REDIS_URL);
    }

    private static boolean isSet(@Nullable String value) {
        return value != null && !value.isBlank();
    }

    private static String valueOr(@Nullable String value, String fallback) {
        return isSet(value) ? value : fallback;
    }

    static final class DockerAnswers implements Condition {
        @Override
        public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
            return useContainers();
        }
    }

    static final class LocalServers implements Condition {
        @Override
        public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
            return !useContainers();
        }
    }
}
