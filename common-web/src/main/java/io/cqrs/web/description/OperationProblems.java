package io.cqrs.web.description;

import static io.cqrs.web.description.Schemas.of;

import io.cqrs.apikeys.Scope;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.headers.Header;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.springdoc.core.customizers.OperationCustomizer;
import org.springframework.core.annotation.MergedAnnotation;
import org.springframework.core.annotation.MergedAnnotations;
import org.springframework.web.method.HandlerMethod;

/**
 * Each operation's key requirement and problem responses, from its handler method's {@link ApiKeyScope} and
 * {@link ProblemResponse} annotations (directly or through an annotation that gathers them). An operation that needs a
 * key gets the security layer's problems too: 401 (with {@code WWW-Authenticate}), 403 and 429 (with
 * {@code Retry-After}).
 */
final class OperationProblems implements OperationCustomizer {

    @Override
    public Operation customize(Operation operation, HandlerMethod handler) {
        var annotations = MergedAnnotations.from(handler.getMethod(), MergedAnnotations.SearchStrategy.TYPE_HIERARCHY);
        Map<Integer, Problems> problems = new TreeMap<>();
        annotations.stream(ApiKeyScope.class).findFirst().ifPresent(scope -> {
            Scope needed = scope.getEnum("value", Scope.class);
            operation.addSecurityItem(new SecurityRequirement().addList(SharedDescription.API_KEY, needed.label()));
            add(
                    problems,
                    401,
                    List.of("unauthorized"),
                    "No key, an unknown key, or an `Authorization` header" + " that is not `Bearer <secret>`",
                    false);
            add(problems, 403, List.of("forbidden"), "The key lacks the `" + needed.label() + "` scope", false);
            add(
                    problems,
                    429,
                    List.of("rate-limited"),
                    "The key made more requests than its rate limit allows"
                            + " (`CQRS_RATE_LIMIT_PER_SECOND`, `CQRS_RATE_LIMIT_BURST`); nothing was done",
                    true);
        });
        annotations.stream(ProblemResponse.class)
                .map(MergedAnnotation::synthesize)
                .forEach(problem -> add(
                        problems,
                        problem.status(),
                        List.of(problem.types()),
                        problem.description(),
                        problem.retryAfter()));
        if (problems.isEmpty()) {
            return operation;
        }
        ApiResponses responses = operation.getResponses() == null ? new ApiResponses() : operation.getResponses();
        problems.forEach((status, problem) -> responses.addApiResponse(status.toString(), problem.response(status)));
        // Statuses in order, the successful answer first, as a reader looks for them.
        var sorted = new ApiResponses();
        responses.entrySet().stream()
                .sorted(Map.Entry.comparingByKey(Comparator.naturalOrder()))
                .forEach(entry -> sorted.addApiResponse(entry.getKey(), entry.getValue()));
        return operation.responses(sorted);
    }

    private static void add(
            Map<Integer, Problems> problems, int status, List<String> types, String description, boolean retryAfter) {
        problems.computeIfAbsent(status, s -> new Problems()).add(types, description, retryAfter);
    }

    /** The problems of one status, merged. */
    private static final class Problems {

        private final Set<String> types = new LinkedHashSet<>();
        private final List<String> descriptions = new ArrayList<>();
        private boolean retryAfter;

        void add(List<String> types, String description, boolean retryAfter) {
            types.stream().map(Schemas::problemType).forEach(this.types::add);
            descriptions.add(description);
            this.retryAfter |= retryAfter;
        }

        ApiResponse response(int status) {
            // The shared problem body, narrowed to this response's status and types.
            Schema<Object> narrowed = of("object")
                    .addProperty("type", of("string")._enum(new ArrayList<Object>(types)))
                    .addProperty("status", of("integer")._const(status));
            var response = new ApiResponse()
                    .description(String.join(". ", descriptions))
                    .content(new Content()
                            .addMediaType(
                                    Schemas.PROBLEM_JSON,
                                    new MediaType()
                                            .schema(new Schema<>()
                                                    .allOf(List.of(Schemas.ref(Schemas.PROBLEM), narrowed)))));
            if (status == 401) {
                response.addHeaderObject(
                        "WWW-Authenticate",
                        new Header()
                                .description("`Bearer realm=\"cqrs\"`, with `error=\"invalid_token\"` when a key was"
                                        + " sent")
                                .required(true)
                                .schema(of("string")));
            }
            if (retryAfter) {
                response.addHeaderObject(
                        "Retry-After",
                        new Header()
                                .description("Seconds to wait before retrying")
                                .required(true)
                                .schema(of("integer")));
            }
            return response;
        }
    }
}
