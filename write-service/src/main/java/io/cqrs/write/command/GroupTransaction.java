package io.cqrs.write.command;

import io.cqrs.write.command.PendingUnit.IdempotencyClaim;
import io.cqrs.write.command.PendingUnit.Outcome;
import io.cqrs.write.outbox.OutboxProperties;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.ConcurrencyFailureException;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * One group commit's transaction: claim the group's Idempotency-Keys, number its commands, store them with their outbox
 * rows, key states and totals, and complete or release the claims, all or nothing. A group of untraced writes (the
 * rule) is numbered by the statement that stores it; any other locks the states of its keys first and is numbered by
 * {@link GroupPlan}, which refuses a delete of a key without a live record. Every unit of the group ends with an
 * {@link Outcome}.
 */
@Component
class GroupTransaction {

    private static final Logger log = LoggerFactory.getLogger(GroupTransaction.class);
    private static final int MAX_ATTEMPTS = 5;

    private final CommandRepository commands;
    private final TransactionTemplate transactions;
    private final OutboxProperties outbox;
    private final DistributionSummary groupSizes;
    private final Timer commitTimes;

    GroupTransaction(
            CommandRepository commands,
            TransactionTemplate transactions,
            OutboxProperties outbox,
            MeterRegistry meters) {
        this.commands = commands;
        this.transactions = transactions;
        this.outbox = outbox;
        this.groupSizes = DistributionSummary.builder("cqrs.write.group.commands")
                .description("Commands per group-commit transaction")
                .publishPercentileHistogram()
                .register(meters);
        this.commitTimes = Timer.builder("cqrs.write.group.commit")
                .description("Time to apply one group in the write database")
                .publishPercentileHistogram()
                .register(meters);
    }

    /**
     * Applies the group in one transaction and returns each unit's outcome. Retried at once when another transaction
     * created one of its new keys first or a deadlock broke it: the next attempt sees the other's rows.
     *
     * @param totalsSlot the {@code write_totals} row this committer counts into
     */
    Map<PendingUnit, Outcome> commit(List<PendingUnit> group, int totalsSlot) {
        for (int attempt = 1; ; attempt++) {
            try {
                return commitTimes.record(
                        () -> transactions.execute(status -> apply(group, totalsSlot, status.isNewTransaction())));
            } catch (DuplicateKeyException | ConcurrencyFailureException e) {
                if (attempt == MAX_ATTEMPTS) {
                    throw e;
                }
                log.debug("Retrying group after a concurrent change (attempt {}): {}", attempt, e.getMessage());
            }
        }
    }

    private Map<PendingUnit, Outcome> apply(List<PendingUnit> group, int totalsSlot, boolean ownTransaction) {
        // Identity: units are records holding whole command lists, too costly to hash by value.
        Map<PendingUnit, Outcome> outcomes = new IdentityHashMap<>();
        var units = claimIdempotencyKeys(group, outcomes);
        // The store commits the transaction when it is the last statement: the group's own transaction, and no claim
        // to complete or release after it.
        boolean last = ownTransaction && units.stream().allMatch(unit -> unit.claim() == null);
        var stored = units.stream().allMatch(GroupTransaction::plainWrites)
                ? storeWrites(units, totalsSlot, last)
                : storePlanned(units, totalsSlot, last);
        int size = 0;
        for (var unit : stored) {
            IdempotencyClaim claim = unit.unit().claim();
            if (unit.nothingToDelete() != null) {
                outcomes.put(unit.unit(), new Outcome.NothingToDelete(unit.nothingToDelete()));
                if (claim != null) {
                    commands.releaseIdempotencyKey(claim.key());
                }
            } else {
                outcomes.put(unit.unit(), new Outcome.Applied(unit.commands()));
                if (claim != null) {
                    commands.completeIdempotencyKey(
                            claim.key(),
                            unit.commands().stream()
                                    .mapToLong(StoredCommand::id)
                                    .toArray());
                }
            }
            size += unit.commands().size();
        }
        groupSizes.record(size);
        return outcomes;
    }

    /** One unit of a stored group: its commands as stored, or the key it could not delete (then none). */
    private record StoredUnit(
            PendingUnit unit,
            List<StoredCommand> commands,
            @Nullable String nothingToDelete) {}

    // Writes only, untraced (the rule): the database numbers them as it moves the key states on, in one statement.
    private static boolean plainWrites(PendingUnit unit) {
        return unit.traceparent() == null
                && unit.commands().stream().allMatch(command -> command.op() == Command.Op.WRITE);
    }

    private List<StoredUnit> storeWrites(List<PendingUnit> units, int totalsSlot, boolean commit) {
        var all = new ArrayList<Command>();
        var idempotencyKeys = new ArrayList<@Nullable String>();
        for (PendingUnit unit : units) {
            all.addAll(unit.commands());
            String idempotencyKey = unit.claim() == null ? null : unit.claim().key();
            unit.commands().forEach(command -> idempotencyKeys.add(idempotencyKey));
        }
        var stored = all.isEmpty()
                ? List.<StoredCommand>of()
                : commands.storeWrites(all, idempotencyKeys, totalsSlot, outbox.sweepDelay(), commit);
        var result = new ArrayList<StoredUnit>(units.size());
        int next = 0;
        for (PendingUnit unit : units) {
            int size = unit.commands().size();
            result.add(new StoredUnit(unit, List.copyOf(stored.subList(next, next + size)), null));
            next += size;
        }
        return result;
    }

    // Anything else: the key states locked first, the commands numbered against them (GroupPlan), then stored.
    private List<StoredUnit> storePlanned(List<PendingUnit> units, int totalsSlot, boolean commit) {
        var keys = new LinkedHashSet<String>();
        units.forEach(unit -> unit.commands().forEach(c -> keys.add(c.key())));
        var locked = commands.lockStates(keys);
        var plan = GroupPlan.of(units, locked.states(), locked.floors());
        var numbered = plan.commands();
        // The outbox rows are left to the publisher for the sweeper's delay before the sweeper may take them.
        List<StoredCommand> stored = numbered.isEmpty()
                ? List.of()
                : commands.store(numbered, plan.newKeys(), plan.changedKeys(), totalsSlot, outbox.sweepDelay(), commit);
        var result = new ArrayList<StoredUnit>(units.size());
        int next = 0;
        for (var step : plan.steps()) {
            int size = step.commands().size();
            result.add(new StoredUnit(
                    step.unit(), List.copyOf(stored.subList(next, next + size)), step.nothingToDelete()));
            next += size;
        }
        return result;
    }

    // The first unit of the group with a given Idempotency-Key claims it; the others, and those whose key another
    // request already holds, end as KeyTaken and are answered from the first request's result.
    private List<PendingUnit> claimIdempotencyKeys(List<PendingUnit> group, Map<PendingUnit, Outcome> outcomes) {
        var claims = new ArrayList<IdempotencyClaim>();
        var claimants = new HashMap<String, PendingUnit>();
        var units = new ArrayList<PendingUnit>(group.size());
        for (PendingUnit unit : group) {
            IdempotencyClaim claim = unit.claim();
            if (claim == null) {
                units.add(unit);
            } else if (claimants.putIfAbsent(claim.key(), unit) == null) {
                claims.add(claim);
                units.add(unit);
            } else {
                outcomes.put(unit, new Outcome.KeyTaken(claim.key()));
            }
        }
        Set<String> taken = commands.claimIdempotencyKeys(claims);
        if (taken.isEmpty()) {
            return units;
        }
        var claimed = new ArrayList<PendingUnit>(units.size());
        for (PendingUnit unit : units) {
            if (unit.claim() != null && taken.contains(unit.claim().key())) {
                outcomes.put(unit, new Outcome.KeyTaken(unit.claim().key()));
            } else {
                claimed.add(unit);
            }
        }
        return claimed;
    }
}
