package io.cqrs.write;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.testsupport.ActuatorChecks;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.RealServers;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.JdbcTemplate;

@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT)
@Import(RealServers.class)
class WriteServiceApplicationIT {

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    @Test
    void startsOnAMigratedDatabase() {
        var tables = jdbc.queryForList(
                "select table_name from information_schema.tables where table_schema = current_schema()", String.class);

        assertThat(tables).contains("commands", "key_state", "outbox", "idempotency_keys");
        assertThat(jdbc.queryForObject("select bool_and(success) from flyway_schema_history", Boolean.class))
                .isTrue();
    }

    @Test
    void reportsHealthWithDatabaseAndRedis() {
        ActuatorChecks.assertHealthy(new LocalHttp(port));
    }

    @Test
    void servesPrometheusMetrics() {
        ActuatorChecks.assertPrometheusScrapes(new LocalHttp(port), "write-service");
    }
}
