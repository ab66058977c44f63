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

    /** {@code /actuator/prometheus} serves the text format with JVM, pool and HTTP metrics tagged by application. */
    public static void assertPrometheusScrapes(LocalHttp http, String application) {
        http.get("/actuator/health"); // so that an HTTP server request metric exists
        var scrape = http.get("/actuator/prometheus");
        assertThat(scrape.statusCode()).isEqualTo(200);
        assertThat(scrape.headers().firstValue("Content-Type"))
                .hasValueSatisfying(type -> assertThat(type).startsWith("text/plain"));
        assertThat(scrape.body())
                .contains("jvm_memory_used_bytes")
                .contains("hikaricp_connections_active")
                .contains("http_server_requests_seconds_count")
                .contains("application=\"" + application + "\"");
    }
}
