package io.cqrs.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * Plain HTTP against a service a test started on a local port, as a client outside the JVM would see it: with the
 * test key that has every scope ({@link TestApiKeys#CLIENT}) unless {@link #as} or {@link #anonymous} says otherwise.
 */
public final class LocalHttp {

    private static final HttpClient CLIENT =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final int port;
    private final @Nullable String apiKey;

    public LocalHttp(int port) {
        this(port, TestApiKeys.CLIENT);
    }

    private LocalHttp(int port, @Nullable String apiKey) {
        this.port = port;
        this.apiKey = apiKey;
    }

    /** The same service, called with this API key's secret. */
    public LocalHttp as(String apiKey) {
        return new LocalHttp(port, apiKey);
    }

    /** The same service, called without any API key. */
    public LocalHttp anonymous() {
        return new LocalHttp(port, null);
    }

    public int port() {
        return port;
    }

    public HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(uri(path)).GET());
    }

    public HttpResponse<String> postJson(String path, String json, String... headers) {
        return send(withHeaders(HttpRequest.newBuilder(uri(path)), headers)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    public HttpResponse<String> putJson(String path, String json, String... headers) {
        return send(withHeaders(HttpRequest.newBuilder(uri(path)), headers)
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(json)));
    }

    public HttpResponse<String> delete(String path, String... headers) {
        return send(withHeaders(HttpRequest.newBuilder(uri(path)), headers).DELETE());
    }

    /** A path segment as a client must send it: everything but unreserved characters percent-encoded, {@code /} too. */
    public static String segment(String text) {
        return java.net.URLEncoder.encode(text, java.nio.charset.StandardCharsets.UTF_8)
                .replace("+", "%20");
    }

    private static HttpRequest.Builder withHeaders(HttpRequest.Builder request, String... headers) {
        for (int i = 0; i + 1 < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return request;
    }

    public HttpResponse<String> send(HttpRequest.Builder request) {
        if (apiKey != null) {
            request.setHeader("Authorization", "Bearer " + apiKey);
        }
        try {
            return CLIENT.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while calling " + port, e);
        }
    }

    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }
}
