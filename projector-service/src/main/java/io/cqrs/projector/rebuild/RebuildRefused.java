package io.cqrs.projector.rebuild;

import org.jspecify.annotations.Nullable;

/** Why a rebuild cannot start or be cancelled now: the endpoint's 409 and 503. */
abstract sealed class RebuildRefused extends RuntimeException {

    RebuildRefused(String message, @Nullable Throwable cause) {
        super(message, cause);
    }

    /** Another rebuild runs, or the running one can no longer be cancelled. */
    static final class Conflict extends RebuildRefused {
        Conflict(String message) {
            super(message, null);
        }
    }

    /** The write database does not answer: no rebuild without the truth to rebuild from. */
    static final class WriteDatabaseDown extends RebuildRefused {
        WriteDatabaseDown(Throwable cause) {
            super("The write database does not answer; the rebuild needs it. Nothing was changed.", cause);
        }
    }
}
