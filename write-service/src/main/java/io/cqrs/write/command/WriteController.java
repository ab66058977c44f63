package io.cqrs.write.command;

import io.cqrs.web.description.ProblemResponse;
import io.cqrs.write.command.CommandService.Written;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.security.Principal;
import java.util.List;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.MDC;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.annotation.JsonDeserialize;

/** POST/PUT /write, POST /write/batch and DELETE /write/{key}: HTTP in, validated commands to the service, JSON out. */
@RestController
@Tag(name = "commands", description = "Writes and deletes: committed to the write database, then projected")
class WriteController {

    static final String IDEMPOTENCY_KEY = "Idempotency-Key";
    private static final String IDEMPOTENCY = "1–255 visible ASCII characters. A retry with the same key and request"
            + " returns the first result (header `Idempotent-Replayed: true`) and writes nothing";

    /** The MDC field that names the key a single write or delete is about, while it runs. */
    static final String KEY_IN_LOGS = "key";

    private final CommandService commands;
    private final CommandRules rules;

    WriteController(CommandService commands, CommandRules rules) {
        this.commands = commands;
        this.rules = rules;
    }

    @PostMapping(path = "/write", consumes = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "Write a value",
            description = "Commits the value under the key; its event reaches the read model after the commit."
                    + " `event_id` is null while the event waits in the outbox (it will be published).")
    @CommandProblems
    @CommandProblems.WithBody
    ResponseEntity<WriteResponse> write(
            @RequestBody WriteRequest body,
            @Parameter(description = IDEMPOTENCY) @RequestHeader(name = IDEMPOTENCY_KEY, required = false) String key,
            Principal caller) {
        Command command = rules.write(body.key(), body.value(), key);
        try (var inLogs = MDC.putCloseable(KEY_IN_LOGS, command.key())) {
            return respond(
                    commands.execute(List.of(command), key, caller.getName()),
                    w -> WriteResponse.of(w.single(), "Value written"));
        }
    }

    @PutMapping(path = "/write", consumes = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "Write a value (as POST)")
    @CommandProblems
    @CommandProblems.WithBody
    ResponseEntity<WriteResponse> put(
            @RequestBody WriteRequest body,
            @Parameter(description = IDEMPOTENCY) @RequestHeader(name = IDEMPOTENCY_KEY, required = false) String key,
            Principal caller) {
        return write(body, key, caller);
    }

    @PostMapping(path = "/write/batch", consumes = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "Write several values in one transaction",
            description = "All or nothing; one result per command, in request order.")
    @CommandProblems
    @CommandProblems.WithBody
    ResponseEntity<BatchResponse> batch(
            @RequestBody BatchRequest body,
            @Parameter(description = IDEMPOTENCY) @RequestHeader(name = IDEMPOTENCY_KEY, required = false) String key,
            Principal caller) {
        List<Command> batch = rules.batch(body.commands(), key);
        return respond(commands.execute(batch, key, caller.getName()), BatchResponse::of);
    }

    @DeleteMapping("/write/{key}")
    @Operation(
            summary = "Delete a record",
            description = "Leaves a tombstone at the next version; the answer is a write's with `\"deleted\": true`.")
    @CommandProblems
    @ProblemResponse(
            status = 400,
            types = "invalid-command",
            description = "The key or the `Idempotency-Key` breaks the rules, listed in `violations`")
    @ProblemResponse(
            status = 404,
            types = "record-not-found",
            description = "The key has no live record: never written, or already deleted")
    ResponseEntity<WriteResponse> delete(
            @Parameter(description = "The key, URL-encoded as one path segment (`%2F` for `/`)") @PathVariable
                    String key,
            @Parameter(description = IDEMPOTENCY) @RequestHeader(name = IDEMPOTENCY_KEY, required = false)
                    String idempotencyKey,
            Principal caller) {
        Command command = rules.delete(key, idempotencyKey);
        try (var inLogs = MDC.putCloseable(KEY_IN_LOGS, command.key())) {
            return respond(
                    commands.execute(List.of(command), idempotencyKey, caller.getName()),
                    w -> WriteResponse.of(w.single(), "Record deleted"));
        }
    }

    private static <T> ResponseEntity<T> respond(Written written, Function<Written, T> body) {
        var response = ResponseEntity.ok();
        if (written.replayed()) {
            response.header("Idempotent-Replayed", "true");
        }
        return response.body(body.apply(written));
    }

    /** Taken as JSON trees, so that every rule broken is reported at once (a wrong type too), not only the first. */
    record WriteRequest(
            @Schema(
                    type = "string",
                    requiredMode = Schema.RequiredMode.REQUIRED,
                    description = "1–255 characters (code points), no control characters")
            @Nullable
            JsonNode key,

            @Schema(
                    type = "string",
                    requiredMode = Schema.RequiredMode.REQUIRED,
                    description = "No NUL; at most `CQRS_MAX_VALUE_BYTES` (65536) bytes in UTF-8")
            @Nullable
            JsonNode value) {}

    record BatchRequest(
            @Schema(
                    implementation = WriteRequest[].class,
                    requiredMode = Schema.RequiredMode.REQUIRED,
                    description = "1 to `CQRS_MAX_BATCH_COMMANDS` (1000) commands")
            @JsonDeserialize(using = BoundedCommands.class)
            @Nullable
            JsonNode commands) {}
}
