package io.cqrs.apikeys;

import static org.assertj.core.api.Assertions.assertThat;

import com.jayway.jsonpath.JsonPath;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.ResponseHeaders;
import io.cqrs.testsupport.TestApiKeys;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.core.Ordered;
import org.springframework.http.HttpMethod;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.filter.ServerHttpObservationFilter;

/** The security layer as a client meets it, on a small application with one read and one write endpoint. */
@SpringBootTest(
        classes = ApiSecurityIT.Things.class,
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "management.server.port=0",
            "management.server.address=127.0.0.1",
            "management.endpoint.health.probes.enabled=true",
            "management.endpoint.health.probes.add-additional-paths=true",
            "management.endpoint.health.group.readiness.show-details=never",
            "management.endpoint.health.group.readiness.show-components=never",
            "management.endpoint.health.show-details=always",
            "management.endpoints.web.exposure.include=health,chores",
            "cqrs.security.rate-limit.per-second=1",
            "cqrs.security.rate-limit.burst=3",
            "logging.pattern.correlation=[%X{api_key:-}] "
        })
@ExtendWith(OutputCaptureExtension.class)
class ApiSecurityIT {

    /** The only keys rate-limited hard enough to test in this class: the others never reach 429 here. */
    private static final String LIMITED = "limited-secret";

    private static final String LIMITED_WRITER = "limited-writer-secret";

    /** A key of its own for a test that must not meet the rate limit the others spend. */
    private static final String PLAIN_READER = "plain-reader-secret";

    @DynamicPropertySource
    static void keys(DynamicPropertyRegistry registry) {
        registry.add(
                TestApiKeys.PROPERTY,
                () -> TestApiKeys.SETTING + ",limited:read:" + TestApiKeys.sha256(LIMITED) + ",limited-writer:write:"
                        + TestApiKeys.sha256(LIMITED_WRITER) + ",plain-reader:read:"
                        + TestApiKeys.sha256(PLAIN_READER));
    }

    @SpringBootApplication
    @RestController
    static class Things {

        private static final Logger log = LoggerFactory.getLogger(Things.class);

        @GetMapping("/things")
        String read() {
            log.info("listing things");
            return "things";
        }

        @PostMapping("/things")
        String write() {
            return "written";
        }

        @GetMapping("/open")
        String open() {
            return "open";
        }

        /** An operator endpoint of this application: on the management port, admin keys only. */
        @Endpoint(id = "chores")
        static class Chores {
            @ReadOperation
            String list() {
                return "chores";
            }

            @WriteOperation
            String run() {
                return "done";
            }
        }

        @Bean
        PlainThings plainThings(PlainRequestGate gate) {
            return new PlainThings(gate);
        }

        @Bean
        Chores chores() {
            return new Chores();
        }

        @Bean
        OperatorEndpoints operatorEndpoints() {
            return OperatorEndpoints.of("chores");
        }

        @Bean
        ApiAccess thingsAccess() {
            return rules -> rules.requestMatchers(HttpMethod.GET, "/open")
                    .permitAll()
                    .requestMatchers(HttpMethod.GET, "/things")
                    .hasAuthority(Scope.READ.authority())
                    .requestMatchers(HttpMethod.POST, "/things")
                    .hasAuthority(Scope.WRITE.authority());
        }
    }

    /**
     * A plain-request filter as the services have, ahead of the chain: {@code GET /things} without a query it answers
     * itself once the gate admits it; {@code POST /things} it passes on to the chain after the gate admitted it, as a
     * service's filter passes on a request it turns out not to handle.
     */
    static class PlainThings extends OncePerRequestFilter implements Ordered {

        private static final Logger log = LoggerFactory.getLogger(PlainThings.class);

        private final PlainRequestGate gate;
        final AtomicInteger answered = new AtomicInteger();

        PlainThings(PlainRequestGate gate) {
            this.gate = gate;
        }

        @Override
        public int getOrder() {
            return gate.order();
        }

        @Override
        protected boolean shouldNotFilter(HttpServletRequest request) {
            return !"/things".equals(request.getRequestURI()) || request.getQueryString() != null;
        }

        @Override
        protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
                throws ServletException, IOException {
            boolean read = "GET".equals(request.getMethod());
            gate.serve(request, response, chain, read ? Scope.READ : Scope.WRITE, (admitted, caller) -> {
                if (!read) {
                    chain.doFilter(admitted, response);
                    return;
                }
                log.info("listing things the plain way");
                ServerHttpObservationFilter.findObservationContext(admitted)
                        .ifPresent(context -> context.setPathPattern("/things"));
                answered.incrementAndGet();
                response.setContentType("text/plain;charset=UTF-8");
                response.getWriter().write("things");
            });
        }
    }

    @LocalServerPort
    int port;

    @LocalManagementPort
    int managementPort;

    @Autowired
    MeterRegistry meters;

    @Autowired
    PlainThings plainThings;

    LocalHttp http;

    @BeforeEach
    void client() {
        http = new LocalHttp(port);
    }

    @Test
    void withoutAKeyEveryEndpointButThePublicOnesIsA401ProblemAskingForABearerKey() {
        for (var answer : new HttpResponse<?>[] {
            http.anonymous().get("/things"),
            http.anonymous().postJson("/things", "{}"),
            http.anonymous().get("/no-such-path")
        }) {
            assertRefused(answer, 401, "unauthorized");
            assertThat(answer.headers().firstValue("WWW-Authenticate")).contains("Bearer realm=\"cqrs\"");
            assertThat(JsonPath.parse((String) answer.body()).read("$.detail", String.class))
                    .contains("Authorization: Bearer");
        }
        assertThat(http.anonymous().get("/open").statusCode()).isEqualTo(200);
        assertThat(http.anonymous().get("/livez").statusCode()).isEqualTo(200);
        assertThat(http.anonymous().get("/readyz").body()).isEqualTo("{\"status\":\"UP\"}");
    }

    @Test
    void anUnknownKeyOrAnotherSchemeIsA401ThatSaysSoWithoutEchoingTheSecret() {
        var unknown = http.as("not-a-key").get("/things");
        assertRefused(unknown, 401, "unauthorized");
        assertThat(unknown.headers().firstValue("WWW-Authenticate"))
                .hasValueSatisfying(value -> assertThat(value).contains("invalid_token"));
        assertThat(unknown.body()).contains("Unknown API key").doesNotContain("not-a-key");

        var basic = http.anonymous()
                .send(HttpRequest.newBuilder(http.uri("/things")).header("Authorization", "Basic dXNlcjpwYXNz"));
        assertRefused(basic, 401, "unauthorized");
        assertThat(basic.body()).contains("Bearer <API key>");

        var empty = http.anonymous()
                .send(HttpRequest.newBuilder(http.uri("/things")).header("Authorization", "Bearer "));
        assertRefused(empty, 401, "unauthorized");
    }

    @Test
    void aKeyWithoutTheScopeIsA403NamingTheKeyAndTheRightScopeIsServed() {
        var forbidden = http.as(TestApiKeys.READER).postJson("/things", "{}");
        assertRefused(forbidden, 403, "forbidden");
        assertThat(forbidden.body()).contains("test-reader").doesNotContain(TestApiKeys.READER);
        assertRefused(http.as(TestApiKeys.WRITER).get("/things"), 403, "forbidden");
        assertRefused(http.as(TestApiKeys.ADMIN).get("/things"), 403, "forbidden");

        assertThat(http.as(TestApiKeys.READER).get("/things").body()).isEqualTo("things");
        assertThat(http.as(TestApiKeys.WRITER).postJson("/things", "{}").body()).isEqualTo("written");
        assertThat(http.as(TestApiKeys.CLIENT).get("/things").statusCode()).isEqualTo(200);
        // A valid key on a path nobody serves: not found, not forbidden.
        assertThat(http.get("/no-such-path").statusCode()).isEqualTo(404);
    }

    @Test
    void theKeysNameNeverItsSecretIsInTheLogsAndTagsTheRequestMetrics(CapturedOutput output) {
        assertThat(http.as(TestApiKeys.READER).get("/things").statusCode()).isEqualTo(200);
        http.as(TestApiKeys.READER).postJson("/things", "{}");

        assertThat(output.getAll())
                .containsPattern("\\[test-reader\\] .*listing things")
                .doesNotContain(TestApiKeys.READER);
        assertThat(meters.get("http.server.requests")
                        .tag("api_key", "test-reader")
                        .tag("uri", "/things")
                        .timers())
                .isNotEmpty();
        assertThat(meters.get("cqrs.api.refusals")
                        .tag("status", "403")
                        .tag("api_key", "test-reader")
                        .counter()
                        .count())
                .isPositive();
    }

    @Test
    void aKeyPastItsRateLimitGets429WithRetryAfterAndOtherKeysAreNotSlowed() {
        var limited = http.as(LIMITED);
        HttpResponse<String> answer;
        int served = 0;
        while ((answer = limited.get("/things")).statusCode() == 200) {
            served++;
        }
        // A burst of 3 and one token a second: a few are served, then the bucket is empty.
        assertThat(served).isBetween(3, 10);
        assertRefused(answer, 429, "rate-limited");
        assertThat(answer.headers().firstValue("Retry-After")).contains("1");
        assertThat(answer.body()).contains("limited").doesNotContain(LIMITED);
        assertThat(http.as(TestApiKeys.READER).get("/things").statusCode()).isEqualTo(200);
    }

    @Test
    void aRequestAdmittedThePlainWayThenPassedOnToTheChainTakesOneTokenOnly() {
        var limited = http.as(LIMITED_WRITER);
        HttpResponse<String> answer;
        int served = 0;
        while ((answer = limited.postJson("/things", "{}")).statusCode() == 200) {
            assertThat(answer.body()).isEqualTo("written");
            served++;
        }
        // Charged by the gate and again by the chain, a burst of 3 would serve 1 or 2.
        assertThat(served).isBetween(3, 10);
        assertRefused(answer, 429, "rate-limited");
    }

    @Test
    void thePlainWayAnswersWithTheHeadersOfTheChain(CapturedOutput output) {
        int before = plainThings.answered.get();
        var plain = http.as(PLAIN_READER).get("/things");
        assertThat(plainThings.answered.get()).as("answered the plain way").isEqualTo(before + 1);
        var chain = http.as(PLAIN_READER).get("/things?through=chain");
        assertThat(plainThings.answered.get()).as("answered by the controller").isEqualTo(before + 1);

        assertThat(plain.body()).isEqualTo(chain.body()).isEqualTo("things");
        assertThat(ResponseHeaders.of(chain))
                .containsKeys("x-content-type-options", "cache-control", "x-frame-options");
        assertThat(ResponseHeaders.of(plain)).isEqualTo(ResponseHeaders.of(chain));
        assertThat(output.getAll()).containsPattern("\\[plain-reader\\] .*listing things the plain way");
    }

    @Test
    void theActuatorLivesOnTheManagementPortOnly() {
        var management = new LocalHttp(managementPort).anonymous();
        assertThat(management.get("/actuator/health").statusCode()).isEqualTo(200);
        assertThat(management.get("/actuator/health").body()).contains("components");
        assertThat(http.get("/actuator/health").statusCode()).isEqualTo(404);
        assertThat(http.anonymous().get("/actuator/health").statusCode()).isEqualTo(401);
    }

    @Test
    void operatorEndpointsOnTheManagementPortNeedTheAdminScopeToReadOrChange() {
        var management = new LocalHttp(managementPort);
        assertRefused(management.anonymous().get("/actuator/chores"), 401, "unauthorized");
        assertRefused(management.as(TestApiKeys.READER).get("/actuator/chores"), 403, "forbidden");
        assertRefused(management.as(TestApiKeys.WRITER).postJson("/actuator/chores", "{}"), 403, "forbidden");

        assertThat(management.as(TestApiKeys.ADMIN).get("/actuator/chores").body())
                .isEqualTo("chores");
        assertThat(management
                        .as(TestApiKeys.ADMIN)
                        .postJson("/actuator/chores", "{}")
                        .body())
                .isEqualTo("done");
        assertThat(management.anonymous().get("/actuator/health").statusCode())
                .as("the rest of the management port stays open")
                .isEqualTo(200);
    }

    private static void assertRefused(HttpResponse<?> answer, int status, String type) {
        assertThat(answer.statusCode()).as(answer.uri().toString()).isEqualTo(status);
        assertThat(answer.headers().firstValue("Content-Type")).contains("application/problem+json");
        var body = JsonPath.parse((String) answer.body());
        assertThat(body.read("$.type", String.class)).isEqualTo("urn:cqrs:problem:" + type);
        assertThat(body.read("$.status", Integer.class)).isEqualTo(status);
        assertThat(body.read("$.success", Boolean.class)).isFalse();
    }
}
