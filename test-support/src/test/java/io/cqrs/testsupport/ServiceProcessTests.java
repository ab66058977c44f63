package io.cqrs.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServiceProcessTests {

    @Test
    void givesTheServiceOnlyTheChosenSettingsAndKeepsTheRestOfTheEnvironment() {
        var environment = new HashMap<>(Map.of(
                "PATH", "/usr/bin",
                "HOME", "/root",
                "CQRS_OUTBOX_SWEEP_INTERVAL", "1h",
                "CQRS_TEST_POSTGRES_URL", "jdbc:postgresql://elsewhere/postgres",
                "SPRING_PROFILES_ACTIVE", "dev",
                "WRITE_DB_URL", "jdbc:postgresql://prod/cqrs_write",
                "READ_DB_PRIMARY_URL", "jdbc:postgresql://prod/cqrs_read",
                "REDIS_URL", "redis://prod:6379",
                "PROJECTOR_BATCH_SIZE", "1",
                "JAVA_TOOL_OPTIONS", "-Xmx8g"));
        environment.putAll(Map.of(
                "EVENT_STREAM_NAME", "prod:events",
                "DB_POOL_MAX_SIZE", "100",
                "SERVER_PORT", "80",
                "MANAGEMENT_SERVER_PORT", "81",
                "LOGGING_LEVEL_ROOT", "trace"));

        ServiceProcess.replaceSettings(
                environment, Map.of("REDIS_URL", "redis://127.0.0.1:20001", "SERVER_PORT", "20002"));

        assertThat(environment)
                .containsOnly(
                        Map.entry("PATH", "/usr/bin"),
                        Map.entry("HOME", "/root"),
                        Map.entry("REDIS_URL", "redis://127.0.0.1:20001"),
                        Map.entry("SERVER_PORT", "20002"));
    }
}
