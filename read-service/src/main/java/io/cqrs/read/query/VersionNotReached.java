package io.cqrs.read.query;

import java.net.URI;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;

/**
 * A read-your-writes wait ran out before the record reached the version asked for: 503 with {@code Retry-After} and
 * both versions ({@code version} is null when the read model has no row for the key yet).
 */
final class VersionNotReached extends ErrorResponseException {

    VersionNotReached(String key, long minVersion, @Nullable Long currentVersion, long retryAfterSeconds) {
        super(HttpStatus.SERVICE_UNAVAILABLE, problem(key, minVersion, currentVersion), null);
        getHeaders().set(HttpHeaders.RETRY_AFTER, String.valueOf(retryAfterSeconds));
    }

    private static ProblemDetail problem(String key, long minVersion, @Nullable Long currentVersion) {
        var problem = ProblemDetail.forStatusAndDetail(
                HttpStatus.SERVICE_UNAVAILABLE,
                "Key '" + key + "' has not reached version " + minVersion + " yet (read model has "
                        + (currentVersion == null ? "no version" : "version " + currentVersion)
                        + "); retry later");
        problem.setType(URI.create("urn:cqrs:problem:version-not-reached"));
        problem.setTitle("Version not projected yet");
        problem.setProperty("success", false);
        problem.setProperty("key", key);
        problem.setProperty("min_version", minVersion);
        problem.setProperty("version", currentVersion);
        return problem;
    }

    /** An answer, not a failure: a stack trace would only cost time. */
    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
