package io.cqrs.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class TestServersTests {

    @Test
    void usesTheNamedServersWhenEitherVariableIsSet() {
        assertThat(TestServers.decide(Map.of("CQRS_TEST_POSTGRES_URL", "jdbc:postgresql://db:5432/postgres")))
                .isFalse();
        assertThat(TestServers.decide(Map.of("CQRS_TEST_REDIS_URL", "redis://cache:6380")))
                .isFalse();
    }

    @Test
    void readsHostPortDatabaseAndCredentialsFromARedisUrl() {
        var redis = new LocalRedis("redis://app:s3cret@cache.local:6380/2");

        assertThat(redis.getStandalone().getHost()).isEqualTo("cache.local");
        assertThat(redis.getStandalone().getPort()).isEqualTo(6380);
        assertThat(redis.getStandalone().getDatabase()).isEqualTo(2);
        assertThat(redis.getUsername()).isEqualTo("app");
        assertThat(redis.getPassword()).isEqualTo("s3cret");
    }

    @Test
    void defaultsThePortOfARedisUrl() {
        var redis = new LocalRedis("redis://127.0.0.1");

        assertThat(redis.getStandalone().getPort()).isEqualTo(6379);
        assertThat(redis.getPassword()).isNull();
    }

    @Test
    void rejectsARedisUrlThatIsNotOne() {
        assertThatThrownBy(() -> new LocalRedis("localhost:6379")).hasMessageContaining("CQRS_TEST_REDIS_URL");
    }

    @Test
    void rejectsAPostgresUrlThatIsNotJdbc() {
        assertThatThrownBy(() -> LocalPostgresDatabase.create("postgresql://127.0.0.1/postgres"))
                .hasMessageContaining("CQRS_TEST_POSTGRES_URL must be a JDBC URL");
    }
}
