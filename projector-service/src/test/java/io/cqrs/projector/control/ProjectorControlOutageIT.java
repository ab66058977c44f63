package io.cqrs.projector.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.jayway.jsonpath.JsonPath;
import io.cqrs.projector.audit.OperatorAudit;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.RealServers;
import io.cqrs.testsupport.RedisProcess;
import io.cqrs.testsupport.TestApiKeys;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;

/** With Redis away, the projector endpoint answers at once with a 503 problem and Retry-After, and changes nothing. */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "cqrs.projector.consumer=projector-in-outage",
            "cqrs.projector.poll-interval=200ms",
            "cqrs.projector.retry-backoff=50ms",
            "cqrs.projector.retry-max-backoff=500ms",
            "spring.datasource.hikari.maximum-pool-size=3",
            "spring.datasource.hikari.minimum-idle=1"
        })
@Import({RealServers.class, ProjectorControlOutageIT.OwnRedis.class})
class ProjectorControlOutageIT {

    static final RedisProcess REDIS = RedisProcess.start();

    /** This context's Redis is one the test can stop. */
    @TestConfiguration(proxyBeanMethods = false)
    static class OwnRedis {
        @Bean
        @Primary
        DataRedisConnectionDetails ownRedis() {
            return REDIS.connectionDetails();
        }
    }

    @AfterAll
    static void stopRedis() {
        REDIS.close();
    }

    @LocalManagementPort
    int managementPort;

    @Autowired
    OperatorAudit audit;

    @Test
    void answersA503WithRetryAfterWhileRedisIsAwayAndRecovers() {
        var admin = new LocalHttp(managementPort).as(TestApiKeys.ADMIN);
        await().atMost(Duration.ofSeconds(60))
                .until(() -> admin.get("/actuator/projector").statusCode() == 200);

        REDIS.stop();
        try {
            assertUnavailable(admin.get("/actuator/projector"));
            assertUnavailable(admin.postJson("/actuator/projector/pause", "{\"scope\": \"group\"}"));
            assertUnavailable(admin.postJson("/actuator/projector/reset", "{\"to_id\": \"0-0\", \"dry_run\": true}"));
            // The audit log (the read database) still answers: the failed attempt is recorded as such.
            var attempt = audit.recent(1).getFirst();
            assertThat(attempt.operation()).isEqualTo("projector.pause");
            assertThat(attempt.outcome()).isEqualTo("failed");
        } finally {
            REDIS.restart();
        }

        await().atMost(Duration.ofSeconds(60))
                .until(() -> admin.get("/actuator/projector").statusCode() == 200);
        var status = JsonPath.parse(admin.get("/actuator/projector").body());
        assertThat(status.read("$.group_paused", Boolean.class)).isFalse();
    }

    private static void assertUnavailable(HttpResponse<String> answer) {
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(503);
        assertThat(answer.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(answer.headers().firstValue("Retry-After")).hasValue("5");
        assertThat(JsonPath.parse(answer.body()).read("$.detail", String.class)).contains("Redis");
    }
}
