package io.cqrs.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import com.jayway.jsonpath.JsonPath;

/** The checks every service's context test makes of its actuator endpoints, as an operator's tools would. */
public final class ActuatorChecks {

    private ActuatorChecks() {}

    /** {@code /actuator/health} answers UP, with the database and Redis checked, and both probes exposed. */
    public static void assertHealthy(LocalHttp http) {
        var health = http.get("/actuator/health");
        assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
        var body = JsonPath.parse(health.body());
        assertThat(body.read("$.status", String.class)).isEqualTo("UP");
        assertThat(body.read("$.components.db.status", String.class)).isEqualTo("UP");
        assertThat(body.read("$.components.redis.status", String.class)).isEqualTo("UP");
        assertThat(http.get("/actuator/health/liveness").statusCode()).isEqualTo(200);
        assertThat(http.get("/actuator/health/readiness").statusCode()).isEqualTo(200);
    }

    /**
     * The API port serves no actuator endpoint (401 without a key, 404 with one) and answers liveness and readiness
     * without a key and without details; the management port has them all.
     */
    public static void assertManagementApart(LocalHttp api, LocalHttp management) {
        assertThat(api.anonymous().get("/actuator/health").statusCode()).isEqualTo(401);
        assertThat(api.get("/actuator/health").statusCode()).isEqualTo(404);
        assertThat(api.get("/actuator/prometheus").statusCode()).isEqualTo(404);
        for (String probe : new String[] {"/livez", "/readyz"}) {
            var answer = api.anonymous().get(probe);
            assertThat(answer.statusCode()).as(probe).isEqualTo(200);
            assertThat(JsonPath.parse(answer.body()).read("$", java.util.Map.class))
                    .as(probe + " without details")
                    .containsOnlyKeys("status");
        }
        assertThat(management.anonymous().get("/actuator/health").statusCode()).isEqualTo(200);
    }

    /** {@code /actuator/prometheus} on the management port serves the text format with JVM, pool and HTTP metrics tagged by application. */
    public static void assertPrometheusScrapes(LocalHttp api, LocalHttp management, String application) {
        api.anonymous().get("/readyz"); // so that an HTTP server request metric exists
        var scrape = management.get("/actuator/prometheus");
        assertThat(scrape.statusCode()).isEqualTo(200);
        assertThat(scrape.headers().firstValue("Content-Type"))
                .hasValueSatisfying(type -> assertThat(type).startsWith("text/plain"));
        assertThat(scrape.body())
                .contains("jvm_memory_used_bytes")
                .contains("hikaricp_connections_active")
                .contains("http_server_requests_seconds_count")
                .contains("application=\"" + application + "\"")
                // No long-task timer per observation (management.metrics.observations.ignored-meters): its start and
                // stop on every request cost CPU for a series nobody reads.
                .doesNotContain("http_server_requests_active_seconds");
    }
}
