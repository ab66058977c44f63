package io.cqrs.write;

import static io.cqrs.testsupport.OpenApiContract.untilRateLimited;
import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.testsupport.DatabaseOutage;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.OpenApiContract;
import io.cqrs.testsupport.TestApiKeys;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.TestPropertySource;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;

/**
 * The published API description against the write service itself: every documented response of every operation is
 * produced and checked ({@link OpenApiContract}), and the operations are exactly the service's handlers. A context of
 * its own: a rate limit low enough to reach (the test key for everything else never gets near it) and a real outage
 * of its write database.
 */
@WriteServiceTest
@TestPropertySource(properties = {"cqrs.security.rate-limit.per-second=10", "cqrs.security.rate-limit.burst=100"})
class WriteApiDescriptionIT {

    private static final String WRITE = "POST /write";
    private static final String PUT = "PUT /write";
    private static final String BATCH = "POST /write/batch";
    private static final String DELETE = "DELETE /write/{key}";
    private static final String STATS = "GET /stats";

    @LocalServerPort
    int port;

    @Autowired
    @Qualifier("requestMappingHandlerMapping")
    RequestMappingHandlerMapping handlers;

    @Autowired
    JdbcConnectionDetails database;

    @Autowired
    JdbcClient jdbc;

    LocalHttp http;

    @BeforeEach
    void client() {
        http = new LocalHttp(port);
    }

    @Test
    void describesEveryHandlerAndEachDocumentedResponseIsWhatTheServiceAnswers() throws SQLException {
        var api = OpenApiContract.fetch(http);

        assertThat(api.operations()).containsExactlyInAnyOrderElementsOf(handledOperations());
        assertThat(api.scopes(WRITE)).containsExactly("write");
        assertThat(api.scopes(PUT)).containsExactly("write");
        assertThat(api.scopes(BATCH)).containsExactly("write");
        assertThat(api.scopes(DELETE)).containsExactly("write");
        assertThat(api.scopes(STATS)).containsExactly("read");

        for (String operation : Set.of(WRITE, PUT)) {
            var send = operation.equals(WRITE) ? Sender.POST : Sender.PUT;
            String key = key();
            api.expect(operation, 200, send.json(http, "/write", command(key, "v")));
            api.expect(operation, 400, send.json(http, "/write", command("", "v")));
            api.expect(operation, 400, send.json(http, "/write", "{\"key\": "));
            api.expect(operation, 401, send.json(http.anonymous(), "/write", command(key, "v")));
            api.expect(operation, 403, send.json(http.as(TestApiKeys.READER), "/write", command(key, "v")));
            api.expect(operation, 413, send.json(http, "/write", command(key, "x".repeat(20_000))));
            api.expect(operation, 415, send.body(http, "/write", "text/plain", command(key, "v")));
            String idempotencyKey = "describe-" + UUID.randomUUID();
            api.expect(operation, 200, send.json(http, "/write", command(key, "a"), "Idempotency-Key", idempotencyKey));
            api.expect(operation, 422, send.json(http, "/write", command(key, "b"), "Idempotency-Key", idempotencyKey));
        }

        String key = key();
        String batch = "{\"commands\": [" + command(key, "1") + ", " + command(key + "-2", "2") + "]}";
        api.expect(BATCH, 200, http.postJson("/write/batch", batch));
        api.expect(BATCH, 400, http.postJson("/write/batch", "{\"commands\": []}"));
        api.expect(BATCH, 400, http.postJson("/write/batch", "[]"));
        api.expect(BATCH, 401, http.anonymous().postJson("/write/batch", batch));
        api.expect(BATCH, 403, http.as(TestApiKeys.READER).postJson("/write/batch", batch));
        api.expect(
                BATCH,
                413,
                http.postJson("/write/batch", "{\"commands\": [" + command(key, "x".repeat(20_000)) + "]}"));
        api.expect(BATCH, 415, Sender.POST.body(http, "/write/batch", "text/plain", batch));
        String batchKey = "describe-" + UUID.randomUUID();
        api.expect(BATCH, 200, http.postJson("/write/batch", batch, "Idempotency-Key", batchKey));
        api.expect(
                BATCH,
                422,
                http.postJson(
                        "/write/batch", "{\"commands\": [" + command(key, "3") + "]}", "Idempotency-Key", batchKey));

        api.expect(DELETE, 200, http.delete("/write/" + key));
        api.expect(DELETE, 400, http.delete("/write/" + "k".repeat(256)));
        api.expect(DELETE, 401, http.anonymous().delete("/write/" + key));
        api.expect(DELETE, 403, http.as(TestApiKeys.READER).delete("/write/" + key));
        api.expect(DELETE, 404, http.delete("/write/" + key()));
        api.expect(DELETE, 422, http.delete("/write/" + key + "-2", "Idempotency-Key", batchKey));

        api.expect(STATS, 200, http.get("/stats"));
        api.expect(STATS, 401, http.anonymous().get("/stats"));
        api.expect(STATS, 403, http.as(TestApiKeys.WRITER).get("/stats"));

        // Drained by requests that are refused at once (400s: nothing written), then each operation finds no token.
        var writer = http.as(TestApiKeys.WRITER);
        api.expect(WRITE, 429, untilRateLimited(() -> writer.postJson("/write", "{")));
        api.expect(PUT, 429, untilRateLimited(() -> writer.putJson("/write", "{")));
        api.expect(BATCH, 429, untilRateLimited(() -> writer.postJson("/write/batch", "{")));
        api.expect(DELETE, 429, untilRateLimited(() -> writer.delete("/write/" + "k".repeat(256))));
        api.expect(
                STATS, 429, untilRateLimited(() -> http.as(TestApiKeys.READER).get("/stats")));

        try (var outage = DatabaseOutage.of(database, databaseName())) {
            api.expect(WRITE, 503, http.postJson("/write", command(key(), "v")));
            api.expect(PUT, 503, http.putJson("/write", command(key(), "v")));
            api.expect(BATCH, 503, http.postJson("/write/batch", "{\"commands\": [" + command(key(), "v") + "]}"));
            api.expect(DELETE, 503, http.delete("/write/" + key + "-2"));
            api.expect(STATS, 503, http.get("/stats"));
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
        assertThat(http.anonymous().get("/swagger-ui.html").statusCode()).isIn(200, 302);
    }

    /** Our handlers (not springdoc's, nor the error page), as {@code METHOD /path}. */
    private Set<String> handledOperations() {
        return handlers.getHandlerMethods().entrySet().stream()
                .filter(entry -> entry.getValue().getBeanType().getPackageName().startsWith("io.cqrs.write"))
                .flatMap(entry -> entry.getKey().getMethodsCondition().getMethods().stream()
                        .flatMap(method ->
                                entry.getKey().getPatternValues().stream().map(pattern -> method + " " + pattern)))
                .collect(Collectors.toSet());
    }

    private String databaseName() {
        return jdbc.sql("select current_database()").query(String.class).single();
    }

    private static String key() {
        return "describe-" + UUID.randomUUID();
    }

    private static String command(String key, String value) {
        return "{\"key\": \"" + key + "\", \"value\": \"" + value + "\"}";
    }

    /** POST and PUT /write take the same requests. */
    private enum Sender {
        POST,
        PUT;

        HttpResponse<String> json(LocalHttp http, String path, String body, String... headers) {
            return this == POST ? http.postJson(path, body, headers) : http.putJson(path, body, headers);
        }

        HttpResponse<String> body(LocalHttp http, String path, String contentType, String body) {
            return http.send(HttpRequest.newBuilder(http.uri(path))
                    .header("Content-Type", contentType)
                    .method(name(), HttpRequest.BodyPublishers.ofString(body)));
        }
    }
}
