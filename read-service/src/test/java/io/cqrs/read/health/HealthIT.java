package io.cqrs.read.health;

import static io.cqrs.read.ReadHttp.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.events.EventStreams;
import io.cqrs.read.ProjectorDouble;
import io.cqrs.read.ReadHttp;
import io.cqrs.read.ReadServiceTest;
import io.cqrs.read.changes.ReplayFence;
import io.cqrs.stream.RedisConnections;
import io.cqrs.stream.RedisConnectionsAutoConfiguration;
import io.cqrs.testsupport.DatabaseOutage;
import io.cqrs.testsupport.LocalHttp;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.data.redis.autoconfigure.DataRedisAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;

@ReadServiceTest
class HealthIT {

    private static final Duration PATIENCE = Duration.ofSeconds(15);

    @LocalServerPort
    int port;

    @LocalManagementPort
    int managementPort;

    @Autowired
    ProjectorDouble projector;

    @Autowired
    JdbcConnectionDetails database;

    @Autowired
    DataSource dataSource;

    @Autowired
    ReplayFence fence;

    @Autowired
    RedisConnections redis;

    ReadHttp http;

    @BeforeEach
    void setUp() {
        http = new ReadHttp(port);
        projector.catchUp();
    }

    @AfterEach
    void projectorCaughtUp() {
        projector.catchUp();
    }

    private String status() {
        return json(http.get("/health")).read("$.status", String.class);
    }

    @Test
    void isUpWithNoLagWhenTheProjectorHasNothingToDo() {
        projector.publish("k");
        projector.catchUp();

        await().atMost(PATIENCE).until(() -> status().equals("UP"));
        HttpResponse<String> response = http.get("/health");

        assertThat(response.statusCode()).isEqualTo(200);
        Map<String, Object> body = json(response).read("$");
        assertThat(body).containsOnlyKeys("status", "read_db", "redis", "projection");
        assertThat(body).containsEntry("read_db", "UP").containsEntry("redis", "UP");
        assertThat(json(response).<Map<String, Object>>read("$.projection"))
                .containsEntry("lag_seconds", 0.0)
                .containsEntry("pending", 0)
                .containsEntry("threshold_seconds", 1.0)
                .containsEntry("healthy", true);
        HttpResponse<String> actuator = new LocalHttp(managementPort).get("/actuator/health");
        assertThat(actuator.statusCode()).isEqualTo(200);
        // The actuator's component reads like GET /health, field names included.
        assertThat(json(actuator).<Map<String, Object>>read("$.components.readModel.details"))
                .containsOnlyKeys("read_db", "redis", "projection");
        assertThat(json(actuator).<Map<String, Object>>read("$.components.readModel.details.projection"))
                .containsOnlyKeys("lag_seconds", "pending", "threshold_seconds", "healthy");
    }

    @Test
    void degradesWhileTheProjectorIsStalledWithWorkWaitingAndRecoversWhenItResumes() {
        projector.publish("a");
        projector.publish("b");
        var delivered = projector.deliver();

        await().atMost(PATIENCE).until(() -> status().equals("DEGRADED"));
        HttpResponse<String> degraded = http.get("/health");
        assertThat(degraded.statusCode()).isEqualTo(200);
        assertThat(json(degraded).read("$.projection.pending", Integer.class)).isEqualTo(2);
        assertThat(json(degraded).read("$.projection.healthy", Boolean.class)).isFalse();
        assertThat(json(degraded).read("$.projection.lag_seconds", Double.class))
                .isGreaterThan(json(degraded).read("$.projection.threshold_seconds", Double.class));
        HttpResponse<String> readiness = new LocalHttp(managementPort).get("/actuator/health/readiness");
        assertThat(readiness.statusCode()).isEqualTo(200);
        assertThat(json(readiness).read("$.status", String.class)).isEqualTo("DEGRADED");

        projector.acknowledge(delivered);

        await().atMost(PATIENCE).until(() -> status().equals("UP"));
    }

    @Test
    void degradesWithTheReasonWhileTheReconciliationKnowsDivergedOrAheadKeys() {
        String key = EventStreams.reconciliationKey(projector.streamName());
        try {
            projector.redis().hset(key, Map.of("diverged", "3", "ahead", "1"));

            await().atMost(PATIENCE).until(() -> status().equals("DEGRADED"));
            var degraded = json(http.get("/health"));
            assertThat(degraded.<Map<String, Object>>read("$.reconciliation"))
                    .containsEntry("diverged", 3)
                    .containsEntry("ahead", 1)
                    .containsEntry("healthy", false);
            assertThat(degraded.<List<String>>read("$.reasons"))
                    .anySatisfy(reason -> assertThat(reason).contains("3 keys differ"))
                    .anySatisfy(reason -> assertThat(reason).contains("1 keys are ahead"));

            projector.redis().hset(key, Map.of("diverged", "0", "ahead", "0"));

            await().atMost(PATIENCE).until(() -> status().equals("UP"));
            assertThat(json(http.get("/health")).read("$.reconciliation.healthy", Boolean.class))
                    .isTrue();
        } finally {
            projector.redis().del(key);
        }
    }

    @Test
    void degradesWhenEntriesWaitUndelivered() {
        projector.publish("never-read");

        await().atMost(PATIENCE).until(() -> status().equals("DEGRADED"));
        assertThat(json(http.get("/health")).read("$.projection.pending", Integer.class))
                .isZero();
    }

    @Test
    void isDownWhileTheReadDatabaseRefusesConnectionsAndUpWhenItIsBack() throws Exception {
        String name = projector.jdbc().queryForObject("select current_database()", String.class);
        try (var outage = DatabaseOutage.of(database, name)) {
            await().atMost(PATIENCE).until(() -> http.get("/health").statusCode() == 503);
            HttpResponse<String> down = http.get("/health");
            assertThat(json(down).read("$.status", String.class)).isEqualTo("DOWN");
            assertThat(json(down).read("$.read_db", String.class)).isEqualTo("DOWN");
            assertThat(json(down).read("$.redis", String.class)).isEqualTo("UP");
            assertThat(new LocalHttp(managementPort)
                            .get("/actuator/health/readiness")
                            .statusCode())
                    .isEqualTo(503);
            HttpResponse<String> stats = http.get("/stats");
            assertThat(stats.statusCode()).isEqualTo(503);
            assertThat(stats.headers().firstValue("Retry-After")).isPresent();
            assertThat(json(stats).read("$.success", Boolean.class)).isFalse();
        }

        await().atMost(PATIENCE).until(() -> http.get("/health").statusCode() == 200);
        assertThat(status()).isEqualTo("UP");
    }

    @Test
    void degradesWhenRedisDoesNotAnswer() {
        // The probe as the service builds it, from Boot's Redis configuration, pointed at a port nobody listens on.
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(
                        DataRedisAutoConfiguration.class, RedisConnectionsAutoConfiguration.class))
                .withPropertyValues("spring.data.redis.url=redis://127.0.0.1:1", "spring.data.redis.connect-timeout=1s")
                .run(context -> {
                    var events = new EventsProperties(projector.streamName(), ProjectorDouble.GROUP);
                    var properties =
                            new HealthProperties(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(30));
                    var unreachable = new ProjectionProbe(
                            context.getBean(RedisConnections.class), events, properties, new SimpleMeterRegistry());
                    try {
                        ReadHealth health = new ReadHealthCheck(dataSource, fence, unreachable, properties).check();

                        assertThat(health.status()).isEqualTo("DEGRADED");
                        assertThat(health.readDb()).isEqualTo("UP");
                        assertThat(health.redis()).isEqualTo("DOWN");
                        assertThat(health.projection().healthy()).isFalse();
                        assertThat(health.projection().lagSeconds()).isNull();
                    } finally {
                        unreachable.stop();
                    }
                });
    }

    @Test
    void countsEntriesWaitingForAProjectorThatNeverStartedAsLag() {
        String stream = projector.streamName() + ":nobody-reads";
        var events = new EventsProperties(stream, ProjectorDouble.GROUP);
        var properties = new HealthProperties(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(30));
        var probe = new ProjectionProbe(redis, events, properties, new SimpleMeterRegistry());
        try {
            projector.redis().xadd(stream, Map.of("key", "waiting"));

            await().atMost(PATIENCE)
                    .untilAsserted(
                            () -> assertThat(probe.lagSeconds(probe.inspect())).isPositive());
        } finally {
            projector.redis().del(stream);
            probe.stop();
        }
    }
}
