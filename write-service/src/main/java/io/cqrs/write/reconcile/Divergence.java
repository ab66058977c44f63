package io.cqrs.write.reconcile;

import org.jspecify.annotations.Nullable;

/**
 * A key whose read-model state differs from the write database's.
 *
 * @param writeVersion the write database's version, null when it never saw the key
 * @param readVersion the read model's version, null when it has no row for the key
 */
record Divergence(
        String key,
        Kind kind,
        @Nullable Long writeVersion,
        @Nullable Long readVersion) {

    enum Kind {
        /** The read model has no row for a key the write database has. */
        MISSING,
        /** The read model holds an older version. */
        BEHIND,
        /** Same version, other write count or deletion: the read model was changed by something else than events. */
        DIFFERS,
        /**
         * The read model holds a version the write database never reached (or a key it never saw): the write database
         * was restored from a backup, or the read model written by hand. Never repaired by republishing.
         */
        AHEAD;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        static Kind of(String label) {
            return valueOf(label.toUpperCase(java.util.Locale.ROOT));
        }

        /** Whether republishing the key's latest command repairs it. */
        boolean repairable() {
            return this != AHEAD;
        }
    }
}
