package io.cqrs.projector;

import io.cqrs.events.MalformedEventException;
import org.jspecify.annotations.Nullable;

/**
 * Why a stream entry goes to the dead-letter stream instead of the read model. Its delivery count alone is never a
 * reason: an entry delivered too often is applied alone ({@link DeliveryLimit}), and dead-lettered only if it fails then.
 *
 * @param problem a stable name for metrics and tooling: a {@link MalformedEventException.Problem}, or
 *     {@value #APPLY_FAILED}
 * @param field the event field at fault, when one is
 * @param reason a sentence for a person
 */
record Rejection(String problem, @Nullable String field, String reason) {

    static final String APPLY_FAILED = "APPLY_FAILED";

    static Rejection malformed(MalformedEventException e) {
        return new Rejection(e.problem().name(), e.field(), String.valueOf(e.getMessage()));
    }

    static Rejection applyFailed(Throwable failure) {
        @Nullable Throwable cause = failure;
        while (cause.getCause() != null) {
            cause = cause.getCause();
        }
        // The first line of the database's message names the problem (e.g. invalid byte sequence) without echoing the
        // payload; the rest (PostgreSQL's "Where:" context) is noise in a one-line reason.
        String message = String.valueOf(cause.getMessage()).lines().findFirst().orElse("");
        return new Rejection(APPLY_FAILED, null, "the read database rejected the event: " + message);
    }
}
