package io.cqrs.write.command;

import io.cqrs.tracing.TraceContexts;
import io.cqrs.write.command.CommandRepository.IdempotentRequest;
import io.cqrs.write.command.PendingUnit.IdempotencyClaim;
import io.cqrs.write.command.PendingUnit.Outcome;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.stereotype.Service;

/**
 * The write use cases: a write, a batch of writes, a delete — each all-or-nothing, each answered with the versions
 * its commands got. Idempotency-Keys make retries safe: the first request's result is returned, nothing is written.
 */
@Service
class CommandService {

    private final GroupCommitter committer;
    private final CommandRepository commands;
    private final WriteProperties properties;
    private final MeterRegistry meters;
    private final TraceContexts traces;

    CommandService(
            GroupCommitter committer,
            CommandRepository commands,
            WriteProperties properties,
            MeterRegistry meters,
            TraceContexts traces) {
        this.committer = committer;
        this.commands = commands;
        this.properties = properties;
        this.meters = meters;
        this.traces = traces;
        // Every op and result from the start, at zero: rate() and increase() over a series that appears with its first
        // event miss that event, and a dashboard shows nothing rather than 0 (ops/alerts.yml, ops/grafana/).
        for (Command.Op op : Command.Op.values()) {
            for (String result : List.of("applied", "replayed", "invalid", "unavailable")) {
                meters.counter("cqrs.write.commands", "op", op.label(), "result", result);
            }
        }
        meters.counter("cqrs.write.commands", "op", Command.Op.DELETE.label(), "result", "not_found");
    }

    /** What a request wrote, or — for a retry under the same Idempotency-Key — what its first attempt wrote. */
    record Written(List<StoredCommand> commands, boolean replayed) {

        StoredCommand single() {
            return commands.getFirst();
        }
    }

    /**
     * Writes the commands, or replays what the first request with the same Idempotency-Key wrote.
     *
     * @param caller the name of the API key that sent the request: Idempotency-Keys are scoped to it, so one client's
     *     keys can neither replay nor block another's
     */
    Written execute(List<Command> requested, @Nullable String idempotencyKey, String caller) {
        try {
            return apply(requested, idempotencyKey, caller, CLAIM_ROUNDS);
        } catch (DataAccessResourceFailureException e) {
            // Idempotency-Key lookups and replays run outside the group commit and its outage handling: an unreachable
            // database there is a 503 all the same, never a 500.
            count(requested, "unavailable");
            throw new WriteStoreUnavailable("the write database is unreachable", e);
        }
    }

    /** How often a request tries again for an Idempotency-Key that concurrent requests held and let go. */
    private static final int CLAIM_ROUNDS = 3;

    private Written apply(List<Command> requested, @Nullable String idempotencyKey, String caller, int attemptsLeft) {
        // Stored as <API key name>:<Idempotency-Key>; key names never hold a ':', so no two callers' keys can meet.
        IdempotencyClaim claim = idempotencyKey == null
                ? null
                : new IdempotencyClaim(caller + ":" + idempotencyKey, fingerprint(requested));
        if (claim != null) {
            var first = commands.findIdempotencyKey(claim.key());
            if (first.isPresent()) {
                return replay(claim, idempotencyKey, first.get());
            }
        }
        Outcome outcome;
        try {
            outcome = await(committer.submit(new PendingUnit(requested, claim, traces.current())));
        } catch (WriteStoreUnavailable e) {
            count(requested, "unavailable");
            throw e;
        }
        return switch (outcome) {
            case Outcome.Applied applied -> {
                count(requested, "applied");
                yield new Written(applied.commands(), false);
            }
            case Outcome.NothingToDelete nothing -> {
                count(requested, "not_found");
                throw new RecordNotFound(nothing.key());
            }
            case Outcome.KeyTaken taken -> {
                var first = commands.findIdempotencyKey(taken.idempotencyKey());
                if (first.isPresent()) {
                    yield replay(claim, idempotencyKey, first.get());
                }
                // The request that held the key wrote nothing (a delete of a key without a record) and let the key
                // go: this request is a first attempt of its own. Another one may take the key meanwhile, so a few
                // rounds at most.
                if (attemptsLeft == 0) {
                    throw new WriteStoreUnavailable(
                            "the Idempotency-Key " + idempotencyKey + " is held by concurrent requests that"
                                    + " write nothing",
                            null);
                }
                yield apply(requested, idempotencyKey, caller, attemptsLeft - 1);
            }
        };
    }

    private Written replay(@Nullable IdempotencyClaim claim, @Nullable String idempotencyKey, IdempotentRequest first) {
        if (claim == null || !first.requestHash().equals(claim.requestHash())) {
            throw new IdempotencyKeyReused(idempotencyKey == null ? "" : idempotencyKey);
        }
        var replayed = commands.findCommands(first.commandIds());
        count(replayed.stream().map(StoredCommand::command).toList(), "replayed");
        return new Written(replayed, true);
    }

    private Outcome await(PendingUnit unit) {
        try {
            return unit.outcome().get(properties.commitTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new WriteOutcomeUnknown(
                    "no answer from the write database within "
                            + properties.commitTimeout().toSeconds() + " s",
                    e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new WriteStoreUnavailable("interrupted while waiting for the write database", e);
        }
    }

    private void count(List<Command> requested, String result) {
        var op = requested.getFirst().op().label();
        meters.counter("cqrs.write.commands", "op", op, "result", result).increment(requested.size());
    }

    // Same commands, same fingerprint, however the JSON was spelled; NUL separates fields (keys and values never hold
    // one).
    private static String fingerprint(List<Command> requested) {
        try {
            var digest = MessageDigest.getInstance("SHA-256");
            for (Command command : requested) {
                digest.update((command.op().label()
                                + '\0'
                                + command.key()
                                + '\0'
                                + (command.value() == null ? "" : command.value())
                                + '\0')
                        .getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
