package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.testsupport.ActuatorChecks;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.PlanChecks;
import io.cqrs.testsupport.ProblemChecks;
import io.cqrs.testsupport.RawHttp;
import io.cqrs.testsupport.SchemaChecks;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;

class ProjectorServiceApplicationIT extends ProjectorTestSupport {

    @LocalServerPort
    int port;

    @LocalManagementPort
    int managementPort;

    @Autowired
    DataSource database;

    @Test
    void startsOnAMigratedDatabase() {
        SchemaChecks.assertMigrated(database, "records", "projection_state", "read_totals");
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
    void answersRequestsTomcatRefusesWithAProblem() {
        var http = new RawHttp(port);

        ProblemChecks.assertProblem(http.send("GET /actuator/%zz HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
        ProblemChecks.assertProblem(http.send("TRACE /actuator/health HTTP/1.1\r\nHost: x\r\n\r\n"), 405);
    }

    @Test
    void servesPrometheusMetrics() {
        ActuatorChecks.assertPrometheusScrapes(new LocalHttp(port), new LocalHttp(managementPort), "projector-service");
    }

    @Test
    void servesTheProjectorMetricsUnderTheirDocumentedNames() {
        publish(List.of(written(prefix + "metered", 1, 1)));
        awaitProjected();

        String scrape =
                new LocalHttp(managementPort).get("/actuator/prometheus").body();

        assertThat(scrape)
                .contains("cqrs_projection_lag_seconds{")
                .contains("cqrs_stream_pending{")
                .contains("cqrs_stream_group_lag{")
                .contains("cqrs_projector_events_total{")
                .contains("result=\"applied\"")
                .contains("result=\"stale\"")
                .contains("result=\"dead_lettered\"")
                .contains("cqrs_projector_batch_size_bucket{")
                .contains("cqrs_projector_apply_seconds_bucket{")
                .contains("cqrs_commit_to_projected_seconds_bucket{")
                .contains("cqrs_stream_trimmed_total{")
                .contains("cqrs_stream_trim_held_back_seconds{")
                .contains("cqrs_stream_group_recreated_total{")
                .contains("cqrs_projector_claimed_total{")
                .contains("cqrs_projector_retries_total{")
                .contains("cqrs_projector_paused{");
        // Timed right after the commit that made the entry visible in the read model: a moment later, maybe.
        await().atMost(PATIENCE)
                .untilAsserted(() -> assertThat(new LocalHttp(managementPort)
                                .get("/actuator/prometheus")
                                .body())
                        .containsPattern("cqrs_stage_seconds_count\\{[^}]*stage=\"xadd_to_projector\"[^}]*} [1-9]")
                        .containsPattern(
                                "cqrs_stage_seconds_count\\{[^}]*stage=\"projector_transaction\"[^}]*} [1-9]"));
        // The stream gauges reuse a status up to a second old: a quiet group settles at zero lag.
        await().atMost(PATIENCE)
                .untilAsserted(() -> assertThat(new LocalHttp(managementPort)
                                .get("/actuator/prometheus")
                                .body())
                        .containsPattern(
                                "cqrs_projection_lag_seconds\\{[^}]*group=\"" + group() + "\"[^}]*} 0\\.0\\n"));
    }
}
