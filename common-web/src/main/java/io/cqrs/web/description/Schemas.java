package io.cqrs.web.description;

import io.swagger.v3.oas.models.media.Schema;
import java.util.Set;

/** Schemas built by hand, right for OpenAPI 3.1 (which reads {@code types}) and 3.0 (which reads {@code type}). */
final class Schemas {

    static final String PROBLEM = "Problem";
    static final String VIOLATION = "Violation";
    static final String PROBLEM_JSON = "application/problem+json";
    static final String PROBLEM_TYPE_PREFIX = "urn:cqrs:problem:";

    private Schemas() {}

    static Schema<Object> of(String type) {
        return new Schema<>().type(type).types(Set.of(type));
    }

    static Schema<Object> of(String type, String description) {
        return of(type).description(description);
    }

    static Schema<Object> ref(String component) {
        return new Schema<>().$ref("#/components/schemas/" + component);
    }

    /** {@code invalid-command} is {@code urn:cqrs:problem:invalid-command}; a URI such as {@code about:blank} is itself. */
    static String problemType(String type) {
        return type.contains(":") ? type : PROBLEM_TYPE_PREFIX + type;
    }
}
