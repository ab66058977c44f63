package io.cqrs.write;

import static org.assertj.core.api.Assertions.assertThat;

import com.jayway.jsonpath.JsonPath;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.ResponseHeaders;
import io.cqrs.testsupport.TestApiKeys;
import java.net.http.HttpResponse;
import java.util.UUID;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;

/** Every endpoint of the write API with no key, an unknown key, a key without the scope and one with it. */
@WriteServiceTest
class WriteApiKeysIT {

    @LocalServerPort
    int port;

    @Autowired
    JdbcClient jdbc;

    LocalHttp http;

    @BeforeEach
    void client() {
        http = new LocalHttp(port);
    }

    /** Each endpoint, the scope it needs and what a call with that scope answers. */
    enum Endpoint {
        WRITE("write", 200, (http, key) -> http.postJson("/write", body(key))),
        PUT("write", 200, (http, key) -> http.putJson("/write", body(key))),
        BATCH("write", 200, (http, key) -> http.postJson("/write/batch", "{\"commands\": [" + body(key) + "]}")),
        DELETE("write", 404, (http, key) -> http.delete("/write/" + key)),
        STATS("read", 200, (http, key) -> http.get("/stats"));

        final String scope;
        final int served;
        final Call call;

        Endpoint(String scope, int served, Call call) {
            this.scope = scope;
            this.served = served;
            this.call = call;
        }
    }

    interface Call {
        HttpResponse<String> send(LocalHttp http, String key);
    }

    @ParameterizedTest
    @EnumSource(Endpoint.class)
    void needsAKeyWithItsScopeAndARefusedCallWritesNothing(Endpoint endpoint) {
        String key = "auth-" + endpoint + "-" + UUID.randomUUID();
        Function<LocalHttp, HttpResponse<String>> call = client -> endpoint.call.send(client, key);

        assertProblem(call.apply(http.anonymous()), 401, "unauthorized");
        assertProblem(call.apply(http.as("no-such-key")), 401, "unauthorized");
        String otherScope = endpoint.scope.equals("write") ? TestApiKeys.READER : TestApiKeys.WRITER;
        assertProblem(call.apply(http.as(otherScope)), 403, "forbidden");
        assertProblem(call.apply(http.as(TestApiKeys.ADMIN)), 403, "forbidden");
        assertThat(commandsOn(key)).isZero();

        String rightScope = endpoint.scope.equals("write") ? TestApiKeys.WRITER : TestApiKeys.READER;
        assertThat(call.apply(http.as(rightScope)).statusCode()).isEqualTo(endpoint.served);
    }

    @Test
    void aPlainWriteHasTheHeadersOfAWriteThroughTheWholeChain() {
        var writer = http.as(TestApiKeys.WRITER);

        var plain = writer.postJson("/write", body("auth-headers-" + UUID.randomUUID()));
        var throughTheChain = writer.postJson("/write?through=chain", body("auth-headers-" + UUID.randomUUID()));

        assertThat(plain.statusCode()).isEqualTo(throughTheChain.statusCode()).isEqualTo(200);
        assertThat(ResponseHeaders.of(plain)).isEqualTo(ResponseHeaders.of(throughTheChain));
    }

    @Test
    void idempotencyKeysBelongToTheApiKeyThatMadeThem() {
        String idempotencyKey = "shared-" + UUID.randomUUID();
        String key = "idem-" + UUID.randomUUID();
        var writer = http.as(TestApiKeys.WRITER);
        var client = http.as(TestApiKeys.CLIENT);

        var first = writer.postJson(
                "/write", "{\"key\": \"" + key + "\", \"value\": \"a\"}", "Idempotency-Key", idempotencyKey);
        // The same Idempotency-Key from another API key, with another body: its own first attempt, not a 422.
        var other = client.postJson(
                "/write", "{\"key\": \"" + key + "\", \"value\": \"b\"}", "Idempotency-Key", idempotencyKey);
        var retry = writer.postJson(
                "/write", "{\"key\": \"" + key + "\", \"value\": \"a\"}", "Idempotency-Key", idempotencyKey);

        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(other.statusCode()).isEqualTo(200);
        assertThat(other.headers().firstValue("Idempotent-Replayed")).isEmpty();
        assertThat(version(other)).isEqualTo(version(first) + 1);
        assertThat(retry.headers().firstValue("Idempotent-Replayed")).contains("true");
        assertThat(version(retry)).isEqualTo(version(first));
        assertThat(commandsOn(key)).isEqualTo(2);
    }

    private long commandsOn(String key) {
        return jdbc.sql("select count(*) from commands where key = ?")
                .param(key)
                .query(Long.class)
                .single();
    }

    private static long version(HttpResponse<String> response) {
        return JsonPath.parse(response.body()).read("$.version", Long.class);
    }

    private static String body(String key) {
        return "{\"key\": \"" + key + "\", \"value\": \"v\"}";
    }

    private static void assertProblem(HttpResponse<String> answer, int status, String type) {
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(status);
        assertThat(answer.headers().firstValue("Content-Type")).contains("application/problem+json");
        assertThat(JsonPath.parse(answer.body()).read("$.type", String.class)).isEqualTo("urn:cqrs:problem:" + type);
    }
}
