package io.cqrs.write.command;

import io.cqrs.write.command.CommandService.Written;
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
class WriteController {

    static final String IDEMPOTENCY_KEY = "Idempotency-Key";

    /** The MDC field that names the key a single write or delete is about, while it runs. */
    static final String KEY_IN_LOGS = "key";

    private final CommandService commands;
    private final CommandRules rules;

    WriteController(CommandService commands, CommandRules rules) {
        this.commands = commands;
        this.rules = rules;
    }

    @PostMapping(path = "/write", consumes = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<WriteResponse> write(
            @RequestBody WriteRequest body,
            @RequestHeader(name = IDEMPOTENCY_KEY, required = false) String key,
            Principal caller) {
        Command command = rules.write(body.key(), body.value(), key);
        try (var inLogs = MDC.putCloseable(KEY_IN_LOGS, command.key())) {
            return respond(
                    commands.execute(List.of(command), key, caller.getName()),
                    w -> WriteResponse.of(w.single(), "Value written"));
        }
    }

    @PutMapping(path = "/write", consumes = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<WriteResponse> put(
            @RequestBody WriteRequest body,
            @RequestHeader(name = IDEMPOTENCY_KEY, required = false) String key,
            Principal caller) {
        return write(body, key, caller);
    }

    @PostMapping(path = "/write/batch", consumes = MediaType.APPLICATION_JSON_VALUE)
    ResponseEntity<BatchResponse> batch(
            @RequestBody BatchRequest body,
            @RequestHeader(name = IDEMPOTENCY_KEY, required = false) String key,
            Principal caller) {
        List<Command> batch = rules.batch(body.commands(), key);
        return respond(commands.execute(batch, key, caller.getName()), BatchResponse::of);
    }

    @DeleteMapping("/write/{key}")
    ResponseEntity<WriteResponse> delete(
            @PathVariable String key,
            @RequestHeader(name = IDEMPOTENCY_KEY, required = false) String idempotencyKey,
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

    record WriteRequest(@Nullable JsonNode key, @Nullable JsonNode value) {}

    record BatchRequest(
            @JsonDeserialize(using = BoundedCommands.class) @Nullable
            JsonNode commands) {}
}
