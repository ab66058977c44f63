package io.cqrs.read;

import static org.assertj.core.api.Assertions.assertThat;

import com.jayway.jsonpath.DocumentContext;
import com.jayway.jsonpath.JsonPath;
import io.cqrs.testsupport.LocalHttp;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

/** {@code GET /read/{key}} as a client sends it: the key URL-encoded as one path segment. */
public final class ReadHttp {

    private final LocalHttp http;

    public ReadHttp(int port) {
        this.http = new LocalHttp(port);
    }

    public HttpResponse<String> read(String key) {
        return http.get("/read/" + encode(key));
    }

    public HttpResponse<String> read(String key, String query) {
        return http.get("/read/" + encode(key) + "?" + query);
    }

    public HttpResponse<String> get(String path) {
        return http.get(path);
    }

    /** The answer to {@code GET /read/{key}}, which must be a 200. */
    public DocumentContext found(String key) {
        HttpResponse<String> response = read(key);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return json(response);
    }

    public static DocumentContext json(HttpResponse<String> response) {
        return JsonPath.parse(response.body());
    }

    /** Percent-encodes everything but unreserved characters, spaces as %20 (URLEncoder is for forms). */
    public static String encode(String key) {
        return URLEncoder.encode(key, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
