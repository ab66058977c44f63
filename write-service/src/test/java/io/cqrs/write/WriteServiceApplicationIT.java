package io.cqrs.write;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.testsupport.ActuatorChecks;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.PlanChecks;
import io.cqrs.testsupport.RealServers;
import io.cqrs.testsupport.SchemaChecks;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;

@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT)
@Import(RealServers.class)
class WriteServiceApplicationIT {

    @LocalServerPort
    int port;

    @LocalManagementPort
    int managementPort;

    @Autowired
    DataSource database;

    @Test
    void startsOnAMigratedDatabase() {
        SchemaChecks.assertMigrated(database, "commands", "key_state", "outbox", "idempotency_keys");
    }

    @Test
    void reusesPlansThatFindRowsByKey() {
        PlanChecks.assertPlansReusedAndByKey(database);
    }

    @Test
    void reportsHealthWithDatabaseAndRedis() {
        ActuatorChecks.assertHealthy(new LocalHttp(managementPort));
        ActuatorChecks.assertManagementApart(new LocalHttp(port), new LocalHttp(managementPort));
    }

    @Test
    void doesNotObserveEveryRedisCommand() {
        var http = new LocalHttp(port);
        assertThat(http.postJson("/write", "{\"key\": \"observed-" + System.nanoTime() + "\", \"value\": \"v\"}")
                        .statusCode())
                .isEqualTo(200);

        var scrape = new LocalHttp(managementPort).anonymous().get("/actuator/prometheus");
        assertThat(scrape.body()).contains("cqrs_stage_seconds").doesNotContain("lettuce_");
    }

    @Test
    void servesPrometheusMetrics() {
        ActuatorChecks.assertPrometheusScrapes(new LocalHttp(port), new LocalHttp(managementPort), "write-service");
    }
}
