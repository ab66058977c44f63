package io.cqrs.projector.control;

import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpStatus;

/**
 * Why an operator call was refused, as its problem answer says it: the status, a stable type
 * ({@code urn:cqrs:problem:<type>}), a sentence for a person and the request field at fault, if one is. Thrown before
 * anything changed.
 */
final class ControlProblem extends RuntimeException {

    private final HttpStatus status;
    private final String type;
    private final @Nullable String field;

    private ControlProblem(HttpStatus status, String type, String detail, @Nullable String field) {
        super(detail, null, false, false);
        this.status = status;
        this.type = type;
        this.field = field;
    }

    /** A request field that is missing, malformed or not for this operation: 400. */
    static ControlProblem invalid(String field, String detail) {
        return new ControlProblem(HttpStatus.BAD_REQUEST, "invalid-request", detail, field);
    }

    /** A request that is well formed but cannot be done in the state at hand (a gap, no group): 409. */
    static ControlProblem conflict(String type, String detail, @Nullable String field) {
        return new ControlProblem(HttpStatus.CONFLICT, type, detail, field);
    }

    static ControlProblem notFound(String detail) {
        return new ControlProblem(HttpStatus.NOT_FOUND, "not-found", detail, null);
    }

    HttpStatus status() {
        return status;
    }

    String type() {
        return type;
    }

    @Nullable
    String field() {
        return field;
    }
}
