package io.cqrs.testsupport;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** What a response's headers say about the answer, without those of the transport, to compare two answers. */
public final class ResponseHeaders {

    private static final Set<String> TRANSPORT =
            Set.of("date", "content-length", "transfer-encoding", "keep-alive", "connection");

    private ResponseHeaders() {}

    /** Lower-case header name → values, sorted by name, without {@code Date}, length or chunking, and connection headers. */
    public static Map<String, List<String>> of(HttpResponse<?> response) {
        var headers = new TreeMap<String, List<String>>();
        response.headers().map().forEach((name, values) -> headers.put(name.toLowerCase(Locale.ROOT), values));
        headers.keySet().removeAll(TRANSPORT);
        return headers;
    }
}
