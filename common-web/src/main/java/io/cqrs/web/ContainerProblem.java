package io.cqrs.web;

import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpStatus;
import tools.jackson.core.json.JsonWriteFeature;
import tools.jackson.databind.ObjectWriter;
import tools.jackson.databind.json.JsonMapper;

/**
 * The problem body for a status the servlet container sets by itself: a request Tomcat cannot parse, or an error that
 * never reached (or escaped) Spring MVC's exception handling. Only the status is known for sure, so the detail is a
 * fixed sentence per status: never Tomcat's message (which may echo the request) nor a stack trace.
 */
record ContainerProblem(
        String type,
        String title,
        int status,
        String detail,
        @Nullable String instance) {

    static final String MEDIA_TYPE = "application/problem+json";

    /** Escapes anything outside ASCII: the body is then the same bytes in whatever charset a writer uses. */
    static ObjectWriter writer(JsonMapper mapper) {
        return mapper.writer().with(JsonWriteFeature.ESCAPE_NON_ASCII);
    }

    static ContainerProblem of(int status, @Nullable String instance) {
        HttpStatus known = HttpStatus.resolve(status);
        String title = known == null ? "Error " + status : known.getReasonPhrase();
        String type = switch (status) {
            case 400 -> "urn:cqrs:problem:malformed-request";
            case 500 -> "urn:cqrs:problem:internal-error";
            default -> "about:blank";
        };
        String detail = switch (status) {
            case 400 ->
                "The request is not valid HTTP (request line, percent-encoding, headers or body framing)"
                        + " or its request line and headers exceed their size limit; nothing was done";
            case 404 -> "Nothing is served at this path";
            case 405 -> "This method is not supported here (the Allow header lists those that are)";
            case 413, 414, 431 -> "The request exceeds a size limit; nothing was done";
            case 417 -> "The only expectation supported is 100-continue";
            case 500 -> "An unexpected error occurred; it has been logged";
            case 501 -> "The request uses a transfer coding or method this server does not implement";
            case 505 -> "This server speaks HTTP/1.1 and HTTP/1.0";
            default ->
                status < 500
                        ? "The request was refused (" + status + " " + title + "); nothing was done"
                        : "The request could not be answered (" + status + " " + title + ")";
        };
        return new ContainerProblem(type, title, status, detail, instance);
    }

    /** The body: RFC 9457's members in their usual order, then {@code "success": false} as the API's clients expect. */
    byte[] toJson(ObjectWriter writer) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", type);
        body.put("title", title);
        body.put("status", status);
        body.put("detail", detail);
        if (instance != null) {
            body.put("instance", instance);
        }
        body.put("success", false);
        return writer.writeValueAsBytes(body);
    }
}
