package io.cqrs.events;

import org.jspecify.annotations.Nullable;

/** A stream entry that is not a valid event; {@link #problem()} and {@link #getMessage()} say why. */
public final class MalformedEventException extends RuntimeException {

    /** What is wrong with the entry, for metrics and dead-letter reasons. */
    public enum Problem {
        MISSING_FIELD,
        BAD_NUMBER,
        BAD_TIMESTAMP,
        BAD_VALUE,
        UNKNOWN_TYPE,
        UNKNOWN_SCHEMA
    }

    private final Problem problem;
    private final @Nullable String field;

    MalformedEventException(Problem problem, @Nullable String field, String message) {
        super(message);
        this.problem = problem;
        this.field = field;
    }

    public Problem problem() {
        return problem;
    }

    /** The field at fault, or null when the fault is not in one field. */
    public @Nullable String field() {
        return field;
    }
}
