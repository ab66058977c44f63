package io.cqrs.testsupport;

import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.testcontainers.service.connection.ServiceConnection;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.test.context.DynamicPropertyRegistrar;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * Import this into a test to give its application context a real PostgreSQL database and Redis of its own.
 *
 * <p>With a Docker engine: pinned containers wired through {@code @ServiceConnection}. Without one: a fresh database on
 * the local server and the local Redis (see {@link TestServers}). Either way the application sees the same connection
 * details beans, the services' Flyway migrations run on the empty database, and the context gets its own stream name.
 */
@TestConfiguration(proxyBeanMethods = false)
public class RealServers {

    static final String POSTGRES_IMAGE = "postgres:15.8-alpine";
    static final String REDIS_IMAGE = "redis:7.0.15-alpine";

    @Bean
    @ServiceConnection
    @Conditional(TestServers.DockerAnswers.class)
    PostgreSQLContainer postgresContainer() {
        return new PostgreSQLContainer(DockerImageName.parse(POSTGRES_IMAGE));
    }

    @Bean
    @ServiceConnection(name = "redis")
    @Conditional(TestServers.DockerAnswers.class)
    GenericContainer<?> redisContainer() {
        return new GenericContainer<>(DockerImageName.parse(REDIS_IMAGE)).withExposedPorts(6379);
    }

    @Bean
    @Conditional(TestServers.LocalServers.class)
    LocalPostgresDatabase localPostgresDatabase() {
        return LocalPostgresDatabase.create(TestServers.postgresUrl());
    }

    @Bean
    @Conditional(TestServers.LocalServers.class)
    LocalRedis localRedis() {
        return new LocalRedis(TestServers.redisUrl());
    }

    @Bean
    TestStream testStream(DataRedisConnectionDetails redis) {
        return new TestStream(redis);
    }

    @Bean
    DynamicPropertyRegistrar testStreamProperty(TestStream stream) {
        return registry -> registry.add(TestStream.PROPERTY, stream::name);
    }

    /** The test API keys, which {@link LocalHttp} sends. */
    @Bean
    DynamicPropertyRegistrar testApiKeysProperty() {
        return registry -> registry.add(TestApiKeys.PROPERTY, () -> TestApiKeys.SETTING);
    }
}
