package io.cqrs.read;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.testsupport.ActuatorChecks;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.PlanChecks;
import io.cqrs.testsupport.SchemaChecks;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;

@ReadServiceTest
class ReadServiceApplicationIT {

    @LocalServerPort
    int port;

    @LocalManagementPort
    int managementPort;

    @Autowired
    DataSource database;

    @Autowired
    ProjectorDouble projector;

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
        projector.catchUp();
        ActuatorChecks.assertHealthy(new LocalHttp(managementPort));
        ActuatorChecks.assertManagementApart(new LocalHttp(port), new LocalHttp(managementPort));
    }

    @Test
    void servesPrometheusMetrics() {
        ActuatorChecks.assertPrometheusScrapes(new LocalHttp(port), new LocalHttp(managementPort), "read-service");
    }

    @Test
    void exposesTheReadSideMetricsUnderTheirScrapedNames() {
        String key = "metrics-" + System.nanoTime();
        projector.write(key, "v", 1);
        var http = new ReadHttp(port);
        http.read(key);
        http.read(key);
        http.read("metrics-missing-" + System.nanoTime());
        http.read(key, "min_version=9&wait_ms=0");

        String scrape =
                new LocalHttp(managementPort).get("/actuator/prometheus").body();

        assertThat(scrape)
                .contains("cqrs_read_requests_total{application=\"read-service\",result=\"found\"}")
                .contains("cqrs_read_requests_total{application=\"read-service\",result=\"not_found\"}")
                .contains("cqrs_read_requests_total{application=\"read-service\",result=\"version_not_reached\"}")
                .contains("cqrs_read_request_duration_seconds_bucket{application=\"read-service\",result=\"found\",le=")
                .contains("cqrs_read_cache_hits_total{")
                .contains("cqrs_read_cache_misses_total{")
                .contains("cqrs_read_cache_entries{")
                .contains("cqrs_read_count_flush_lag_seconds{")
                .contains("cqrs_read_count_flush_failures_total{")
                .contains("cqrs_read_count_flushed_reads_total{")
                .contains("cqrs_read_notifications_connected{")
                .contains("cqrs_read_waiters{")
                .contains("cqrs_stage_seconds_bucket{application=\"read-service\",stage=\"notify_to_listener\",le=")
                .contains("cqrs_stage_seconds_bucket{application=\"read-service\",stage=\"listener_to_reader\",le=")
                .contains("cqrs_projection_lag_seconds{")
                .contains("http_server_requests_seconds_bucket{");
    }
}
