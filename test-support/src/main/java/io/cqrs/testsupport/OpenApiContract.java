package io.cqrs.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import com.jayway.jsonpath.JsonPath;
import java.net.http.HttpResponse;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * A service's published OpenAPI description ({@code /v3/api-docs}, fetched without a key) held to the service's real
 * answers. A test drives one request per documented response ({@link #expect}); each answer must have a documented
 * status for its operation, a documented content type and required headers, a body whose fields the description
 * names (a problem's {@code type} among those documented for its status), and in the end every documented response
 * must have been seen ({@link #assertEveryResponseSeen}).
 */
public final class OpenApiContract {

    public static final String PATH = "/v3/api-docs";
    private static final String SCHEMAS = "#/components/schemas/";

    private final Map<String, Object> spec;
    private final Set<String> seen = new TreeSet<>();

    private OpenApiContract(Map<String, Object> spec) {
        this.spec = spec;
    }

    /** The description as a caller without a key gets it. */
    public static OpenApiContract fetch(LocalHttp http) {
        var answer = http.anonymous().get(PATH);
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        assertThat(answer.headers().firstValue("Content-Type"))
                .hasValueSatisfying(type -> assertThat(type).startsWith("application/json"));
        Map<String, Object> spec = JsonPath.parse(answer.body()).read("$");
        assertThat(spec.get("openapi")).asString().startsWith("3.");
        return new OpenApiContract(spec);
    }

    /** Every documented operation, as {@code GET /read/{key}}. */
    public Set<String> operations() {
        Set<String> operations = new TreeSet<>();
        paths().forEach((path, item) -> map(item).keySet().stream()
                .filter(OpenApiContract::isMethod)
                .forEach(method -> operations.add(method.toUpperCase() + " " + path)));
        return operations;
    }

    /** Every documented response, as {@code GET /read/{key} 404}. */
    public Set<String> responses() {
        Set<String> responses = new TreeSet<>();
        for (String operation : operations()) {
            responses(operation).keySet().forEach(status -> responses.add(operation + " " + status));
        }
        return responses;
    }

    /** The scopes the operation's key needs, or none when it needs no key. */
    public List<String> scopes(String operation) {
        Object security = operation(operation).get("security");
        if (security == null) {
            return List.of();
        }
        return list(security).stream()
                .flatMap(requirement -> map(requirement).values().stream())
                .flatMap(scopes -> list(scopes).stream())
                .map(String::valueOf)
                .toList();
    }

    /**
     * Checks the answer to a request made to {@code operation} (as {@link #operations} names it): it has {@code
     * status}, which is documented for the operation, and it is what the description says of that response.
     */
    public void expect(String operation, int status, HttpResponse<String> answer) {
        String what = operation + " " + status;
        assertThat(answer.statusCode()).as(what + ": " + answer.body()).isEqualTo(status);
        Object documented = responses(operation).get(Integer.toString(status));
        assertThat(documented).as(what + " is not documented").isNotNull();
        Map<String, Object> response = map(documented);

        String contentType = answer.headers()
                .firstValue("Content-Type")
                .map(type -> type.split(";")[0].trim())
                .orElse("");
        Map<String, Object> content = map(response.getOrDefault("content", Map.of()));
        assertThat(content.keySet()).as(what + ": content type").contains(contentType);

        map(response.getOrDefault("headers", Map.of())).forEach((name, header) -> {
            if (Boolean.TRUE.equals(map(header).get("required"))) {
                assertThat(answer.headers().firstValue(name))
                        .as(what + ": header " + name)
                        .isPresent();
            }
        });

        Map<String, Object> schema = map(map(content.get(contentType)).get("schema"));
        Map<String, Object> body = JsonPath.parse(answer.body()).read("$");
        assertThat(properties(schema).keySet())
                .as(what + ": body fields " + body.keySet() + " are documented")
                .containsAll(body.keySet());
        assertThat(new LinkedHashSet<Object>(body.keySet()))
                .as(what + ": required fields")
                .containsAll(required(schema));
        Collection<Object> types = enumOf(schema, "type");
        if (!types.isEmpty()) {
            // RFC 9457: a problem without a type is about:blank (Spring leaves that one out).
            assertThat(types).as(what + ": problem type").contains(body.getOrDefault("type", "about:blank"));
            assertThat(body.get("status")).as(what + ": problem status").isEqualTo(status);
        }
        seen.add(what);
    }

    /** Every documented response was {@linkplain #expect expected} by the test, and no other. */
    public void assertEveryResponseSeen() {
        assertThat(seen).as("responses checked").containsExactlyInAnyOrderElementsOf(responses());
    }

    /**
     * Makes the call until the answer is a 429 and returns that answer: the key's token bucket drained by the calls
     * themselves (which must be cheap, and faster than the bucket refills).
     */
    public static HttpResponse<String> untilRateLimited(Supplier<HttpResponse<String>> call) {
        for (int attempt = 0; attempt < 5_000; attempt++) {
            var answer = call.get();
            if (answer.statusCode() == 429) {
                return answer;
            }
        }
        throw new AssertionError("No 429 after 5000 calls: is the rate limit on, and low enough for a test?");
    }

    private Map<String, Object> paths() {
        return map(spec.get("paths"));
    }

    private Map<String, Object> operation(String operation) {
        String[] methodAndPath = operation.split(" ", 2);
        Object item = paths().get(methodAndPath[1]);
        assertThat(item).as(operation + " is not documented").isNotNull();
        Object documented = map(item).get(methodAndPath[0].toLowerCase());
        assertThat(documented).as(operation + " is not documented").isNotNull();
        return map(documented);
    }

    private Map<String, Object> responses(String operation) {
        return map(operation(operation).get("responses"));
    }

    /** Top-level properties, through {@code $ref} and {@code allOf}. */
    private Map<String, Object> properties(Map<String, Object> schema) {
        Map<String, Object> properties = new java.util.LinkedHashMap<>();
        for (Map<String, Object> part : parts(schema)) {
            properties.putAll(map(part.getOrDefault("properties", Map.of())));
        }
        return properties;
    }

    private Set<Object> required(Map<String, Object> schema) {
        Set<Object> required = new LinkedHashSet<>();
        for (Map<String, Object> part : parts(schema)) {
            required.addAll(list(part.getOrDefault("required", List.of())));
        }
        return required;
    }

    /** The values a property is narrowed to ({@code enum}) by any part of the schema; empty when none. */
    private Collection<Object> enumOf(Map<String, Object> schema, String property) {
        Set<Object> values = new LinkedHashSet<>();
        for (Map<String, Object> part : parts(schema)) {
            Object narrowed = map(part.getOrDefault("properties", Map.of())).get(property);
            if (narrowed != null && map(narrowed).get("enum") != null) {
                values.addAll(list(map(narrowed).get("enum")));
            }
        }
        return values;
    }

    /** The schema itself, or what {@code $ref} names, with every part of an {@code allOf}. */
    private List<Map<String, Object>> parts(Map<String, Object> schema) {
        if (schema.get("$ref") instanceof String ref) {
            assertThat(ref).startsWith(SCHEMAS);
            Object named = map(map(spec.get("components")).get("schemas")).get(ref.substring(SCHEMAS.length()));
            assertThat(named).as(ref).isNotNull();
            return parts(map(named));
        }
        if (schema.get("allOf") != null) {
            return list(schema.get("allOf")).stream()
                    .flatMap(part -> parts(map(part)).stream())
                    .toList();
        }
        return List.of(schema);
    }

    private static boolean isMethod(String name) {
        return Set.of("get", "put", "post", "delete", "patch", "head", "options", "trace")
                .contains(name);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(@Nullable Object json) {
        assertThat(json).isInstanceOf(Map.class);
        return (Map<String, Object>) json;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(@Nullable Object json) {
        assertThat(json).isInstanceOf(List.class);
        return (List<Object>) json;
    }
}
