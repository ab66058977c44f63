package io.cqrs.read;

import static org.assertj.core.api.Assertions.assertThat;

import com.jayway.jsonpath.JsonPath;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.ResponseHeaders;
import io.cqrs.testsupport.TestApiKeys;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;

/** Every endpoint of the read API with no key, an unknown key, a key without the scope and one with it. */
@ReadServiceTest
class ReadApiKeysIT {

    @LocalServerPort
    int port;

    @Autowired
    ProjectorDouble projector;

    LocalHttp http;

    @BeforeEach
    void client() {
        http = new LocalHttp(port);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {"/read/auth-key", "/read/auth-key?min_version=1&wait_ms=0", "/read/never-written", "/stats"})
    void needsAKeyWithTheReadScope(String path) {
        assertProblem(http.anonymous().get(path), 401, "unauthorized");
        assertProblem(http.as("no-such-key").get(path), 401, "unauthorized");
        assertProblem(http.as(TestApiKeys.WRITER).get(path), 403, "forbidden");
        assertProblem(http.as(TestApiKeys.ADMIN).get(path), 403, "forbidden");

        assertThat(http.as(TestApiKeys.READER).get(path).statusCode()).isNotIn(401, 403);
    }

    @Test
    void aRefusedReadIsNotCounted() {
        String key = "auth-counted-" + System.nanoTime();
        projector.write(key, "v", 1);
        var reader = http.as(TestApiKeys.READER);
        long before = JsonPath.parse(reader.get("/read/" + key).body()).read("$.read_count", Long.class);

        http.anonymous().get("/read/" + key);
        http.as(TestApiKeys.WRITER).get("/read/" + key);

        long after = JsonPath.parse(reader.get("/read/" + key).body()).read("$.read_count", Long.class);
        assertThat(after).isEqualTo(before + 1);
    }

    @Test
    void aPlainReadHasTheHeadersOfAReadThroughTheWholeChain() {
        String key = "auth-headers-" + System.nanoTime();
        projector.write(key, "v", 1);
        var reader = http.as(TestApiKeys.READER);

        var plain = reader.get("/read/" + key);
        var throughTheChain = reader.get("/read/" + key + "?min_version=1");

        assertThat(plain.statusCode()).isEqualTo(throughTheChain.statusCode()).isEqualTo(200);
        assertThat(ResponseHeaders.of(plain)).isEqualTo(ResponseHeaders.of(throughTheChain));
    }

    @Test
    void healthNeedsNoKey() {
        assertThat(http.anonymous().get("/health").statusCode()).isIn(200, 503);
        assertThat(http.anonymous().get("/readyz").statusCode()).isEqualTo(200);
        assertThat(http.anonymous().get("/livez").statusCode()).isEqualTo(200);
    }

    private static void assertProblem(HttpResponse<String> answer, int status, String type) {
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(status);
        assertThat(answer.headers().firstValue("Content-Type")).contains("application/problem+json");
        assertThat(JsonPath.parse(answer.body()).read("$.type", String.class)).isEqualTo("urn:cqrs:problem:" + type);
    }
}
