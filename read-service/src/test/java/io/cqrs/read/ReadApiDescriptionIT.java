package io.cqrs.read;

import static io.cqrs.testsupport.OpenApiContract.untilRateLimited;
import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.testsupport.DatabaseOutage;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.OpenApiContract;
import io.cqrs.testsupport.TestApiKeys;
import java.sql.SQLException;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.TestPropertySource;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;

/**
 * The published API description against the read service itself: every documented response of every operation is
 * produced and checked ({@link OpenApiContract}), and the operations are exactly the service's handlers. A context of
 * its own: a rate limit low enough to reach (the test key for everything else never gets near it) and a real outage
 * of its read database.
 */
@ReadServiceTest
@TestPropertySource(properties = {"cqrs.security.rate-limit.per-second=10", "cqrs.security.rate-limit.burst=100"})
class ReadApiDescriptionIT {

    private static final String READ = "GET /read/{key}";
    private static final String STATS = "GET /stats";
    private static final String HEALTH = "GET /health";

    @LocalServerPort
    int port;

    @Autowired
    @Qualifier("requestMappingHandlerMapping")
    RequestMappingHandlerMapping handlers;

    @Autowired
    JdbcConnectionDetails database;

    @Autowired
    ProjectorDouble projector;

    LocalHttp http;

    @BeforeEach
    void client() {
        http = new LocalHttp(port);
    }

    @Test
    void describesEveryHandlerAndEachDocumentedResponseIsWhatTheServiceAnswers() throws SQLException {
        var api = OpenApiContract.fetch(http);

        assertThat(api.operations()).containsExactlyInAnyOrderElementsOf(handledOperations());
        assertThat(api.scopes(READ)).containsExactly("read");
        assertThat(api.scopes(STATS)).containsExactly("read");
        assertThat(api.scopes(HEALTH)).isEmpty();

        String key = "describe-" + UUID.randomUUID();
        projector.write(key, "v", 1);
        api.expect(READ, 200, http.get("/read/" + key));
        api.expect(READ, 200, http.get("/read/" + key + "?min_version=1"));
        api.expect(READ, 400, http.get("/read/" + key + "?min_version=one"));
        api.expect(READ, 400, http.get("/read/" + key + "?wait_ms=-1"));
        api.expect(READ, 400, http.get("/read/" + "k".repeat(256)));
        api.expect(READ, 401, http.anonymous().get("/read/" + key));
        api.expect(READ, 403, http.as(TestApiKeys.WRITER).get("/read/" + key));
        api.expect(READ, 404, http.get("/read/describe-never-written"));
        api.expect(READ, 503, http.get("/read/" + key + "?min_version=2&wait_ms=0"));

        api.expect(STATS, 200, http.get("/stats"));
        api.expect(STATS, 401, http.anonymous().get("/stats"));
        api.expect(STATS, 403, http.as(TestApiKeys.WRITER).get("/stats"));

        api.expect(HEALTH, 200, http.anonymous().get("/health"));

        // Drained by requests refused at once (400s: no lookup), then each operation finds no token.
        var reader = http.as(TestApiKeys.READER);
        api.expect(READ, 429, untilRateLimited(() -> reader.get("/read/" + key + "?min_version=one")));
        api.expect(STATS, 429, untilRateLimited(() -> reader.get("/stats")));

        try (var outage = DatabaseOutage.of(database, databaseName())) {
            api.expect(STATS, 503, http.get("/stats"));
            api.expect(READ, 503, http.get("/read/describe-not-cached"));
            api.expect(HEALTH, 503, http.anonymous().get("/health"));
        }

        api.assertEveryResponseSeen();
    }

    @Test
    void theDescriptionAsYamlAndSwaggerUiAreServedWithoutAKey() {
        var yaml = http.anonymous().get("/v3/api-docs.yaml");
        assertThat(yaml.statusCode()).as(yaml.body()).isEqualTo(200);
        assertThat(yaml.body()).startsWith("openapi: 3.1");

        var page = http.anonymous().get("/swagger-ui/index.html");

        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type"))
                .hasValueSatisfying(type -> assertThat(type).startsWith("text/html"));
    }

    /** Our handlers (not springdoc's, nor the error page), as {@code METHOD /path}. */
    private Set<String> handledOperations() {
        return handlers.getHandlerMethods().entrySet().stream()
                .filter(entry -> entry.getValue().getBeanType().getPackageName().startsWith("io.cqrs.read"))
                .flatMap(entry -> entry.getKey().getMethodsCondition().getMethods().stream()
                        .flatMap(method ->
                                entry.getKey().getPatternValues().stream().map(pattern -> method + " " + pattern)))
                .collect(Collectors.toSet());
    }

    private String databaseName() {
        return projector.jdbc().queryForObject("select current_database()", String.class);
    }
}
