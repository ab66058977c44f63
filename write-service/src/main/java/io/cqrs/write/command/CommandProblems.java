package io.cqrs.write.command;

import io.cqrs.apikeys.Scope;
import io.cqrs.web.description.ApiKeyScope;
import io.cqrs.web.description.ProblemResponse;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** For the API description: the key and the problems every command endpoint (write, batch, delete) shares. */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@ApiKeyScope(Scope.WRITE)
@ProblemResponse(
        status = 422,
        types = "idempotency-key-reused",
        description = "The `Idempotency-Key` was used before for a different request; the first result stands")
@ProblemResponse(
        status = 503,
        types = {"write-store-unavailable", "outcome-unknown"},
        retryAfter = true,
        description = "`write-store-unavailable`: the write database cannot be reached or the service is overloaded;"
                + " nothing was written. `outcome-unknown`: the commit was sent but no answer came; retry with the"
                + " same `Idempotency-Key` to learn whether it was applied")
@interface CommandProblems {

    /** The problems of the endpoints that take a JSON body. */
    @Target(ElementType.METHOD)
    @Retention(RetentionPolicy.RUNTIME)
    @ProblemResponse(
            status = 400,
            types = {"invalid-command", "malformed-request"},
            description = "`invalid-command`: the commands break the rules, every violation listed in `violations`;"
                    + " `malformed-request`: the body is not the JSON expected. Nothing was written")
    @ProblemResponse(
            status = 413,
            types = "payload-too-large",
            description = "The body is larger than `CQRS_MAX_BODY_SIZE`; nothing was written")
    @ProblemResponse(
            status = 415,
            types = "about:blank",
            description = "The body is not `application/json`; nothing was written")
    @interface WithBody {}
}
