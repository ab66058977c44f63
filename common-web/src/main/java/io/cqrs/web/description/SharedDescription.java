package io.cqrs.web.description;

import static io.cqrs.web.description.Schemas.of;
import static io.cqrs.web.description.Schemas.ref;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.security.SecurityScheme;
import java.util.List;
import java.util.Set;
import org.springdoc.core.customizers.OpenApiCustomizer;

/**
 * What every service's description holds: the API key scheme, the problem body ({@code Problem}, {@code Violation}),
 * and {@code application/json} for the answers springdoc leaves as {@code *}{@code /*} (the services answer JSON only).
 */
final class SharedDescription implements OpenApiCustomizer {

    static final String API_KEY = "apiKey";

    @Override
    public void customise(OpenAPI openApi) {
        if (openApi.getComponents() == null) {
            openApi.setComponents(new Components());
        }
        openApi.getComponents()
                .addSecuritySchemes(
                        API_KEY,
                        new SecurityScheme()
                                .type(SecurityScheme.Type.HTTP)
                                .scheme("bearer")
                                .bearerFormat("API key secret")
                                .description("An API key's secret, sent as `Authorization: Bearer <secret>`. Each"
                                        + " operation names the scope its key needs (`read`, `write` or `admin`; they"
                                        + " do not imply one another). Keys are configured as `CQRS_API_KEYS`, by the"
                                        + " SHA-256 of their secret."))
                .addSchemas(Schemas.VIOLATION, violation())
                .addSchemas(Schemas.PROBLEM, problem());
        if (openApi.getPaths() != null) {
            openApi.getPaths().values().stream()
                    .flatMap(path -> path.readOperations().stream())
                    .filter(operation -> operation.getResponses() != null)
                    .flatMap(operation -> operation.getResponses().values().stream())
                    .forEach(SharedDescription::answersJson);
        }
    }

    private static void answersJson(ApiResponse response) {
        Content content = response.getContent();
        if (content != null && content.containsKey("*/*")) {
            MediaType any = content.remove("*/*");
            content.addMediaType(org.springframework.http.MediaType.APPLICATION_JSON_VALUE, any);
        }
    }

    private static Schema<Object> violation() {
        return of("object", "One thing wrong with a request, named as the client wrote it.")
                .addProperty("field", of("string", "The JSON field (`commands[3].value`) or query parameter"))
                .addProperty("message", of("string", "What is wrong with it"))
                .required(List.of("field", "message"));
    }

    private static Schema<Object> problem() {
        return of(
                        "object",
                        "An RFC 9457 problem. `type` is stable (`urn:cqrs:problem:<name>`, or `about:blank` for a"
                                + " plain HTTP error with its status' title); `detail` is for a person. A refused"
                                + " request changed nothing unless the problem says otherwise (`outcome`).")
                .addProperty(
                        "type",
                        of("string", "What went wrong, stable: match on this").format("uri"))
                .addProperty("title", of("string", "A short summary of the type"))
                .addProperty("status", of("integer", "The response's status").format("int32"))
                .addProperty("detail", of("string", "What went wrong with this request, for a person"))
                .addProperty("instance", of("string", "The request's path"))
                .addProperty(
                        "success",
                        of("boolean", "Always false, as the clients of the original API expect")
                                ._const(false))
                .addProperty(
                        "violations",
                        of("array", "400s about fields or parameters: every one that is wrong")
                                .items(ref(Schemas.VIOLATION)))
                .addProperty("key", of("string", "Problems about one record: its key"))
                .addProperty(
                        "min_version",
                        of("integer", "`version-not-reached`: the version asked for")
                                .format("int64"))
                .addProperty(
                        "version",
                        of("integer", "`version-not-reached`: the version the read model has (null: none yet)")
                                .format("int64")
                                .types(Set.of("integer", "null")))
                .addProperty(
                        "outcome",
                        of("string", "`outcome-unknown`: the write may or may not have been applied")
                                ._enum(List.<Object>of("unknown")))
                .required(List.of("title", "status", "detail", "success"));
    }
}
