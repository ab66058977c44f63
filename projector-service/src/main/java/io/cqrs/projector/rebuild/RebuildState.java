package io.cqrs.projector.rebuild;

import java.util.Locale;

/** Where a rebuild stands, as the endpoint and {@code rebuilds.state} spell it. */
enum RebuildState {
    IDLE,
    COPYING,
    CATCHING_UP,
    VERIFYING,
    SWITCHING,
    DONE,
    CANCELLED,
    FAILED;

    String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    static RebuildState of(String label) {
        return valueOf(label.toUpperCase(Locale.ROOT));
    }

    boolean finished() {
        return this == DONE || this == CANCELLED || this == FAILED;
    }
}
