package io.cqrs.read.query;

import org.jspecify.annotations.Nullable;

/** A read-your-writes wait ran out before the record reached the version asked for. */
public class VersionNotReached extends RuntimeException {

    private final String key;
    private final long minVersion;
    private final @Nullable Long currentVersion;
    private final long retryAfterSeconds;

    VersionNotReached(String key, long minVersion, @Nullable Long currentVersion, long retryAfterSeconds) {
        super(null, null, false, false);
        this.key = key;
        this.minVersion = minVersion;
        this.currentVersion = currentVersion;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public String key() {
        return key;
    }

    public long minVersion() {
        return minVersion;
    }

    /** The version the read model holds now, or null when it has no row for the key yet. */
    public @Nullable Long currentVersion() {
        return currentVersion;
    }

    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
