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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.ConcurrencyFailureException;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * One group commit's transaction: claim the group's Idempotency-Keys, lock the states of its keys, number its commands
 * ({@link GroupPlan}), store the commands with their outbox rows, key states and totals, and complete or release the
 * claims, all or nothing. Every unit of the group ends with an {@link Outcome}.
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
        var keys = new LinkedHashSet<String>();
        units.forEach(unit -> unit.commands().forEach(c -> keys.add(c.key())));
        var locked = commands.lockStates(keys);
        var plan = GroupPlan.of(units, locked.states(), locked.floors());
        var numbered = plan.commands();
        // The outbox rows are left to the publisher for the sweeper's delay before the sweeper may take them. The store
        // commits the transaction when it is the last statement: the group's own transaction, and no claim to complete
        // or release after it.
        boolean last = ownTransaction && units.stream().allMatch(unit -> unit.claim() == null);
        List<StoredCommand> stored = numbered.isEmpty()
                ? List.of()
                : commands.store(numbered, plan.newKeys(), plan.changedKeys(), totalsSlot, outbox.sweepDelay(), last);
        int next = 0;
        for (var step : plan.steps()) {
            var unitCommands = stored.subList(next, next + step.commands().size());
            next += step.commands().size();
            IdempotencyClaim claim = step.unit().claim();
            if (step.nothingToDelete() != null) {
                outcomes.put(step.unit(), new Outcome.NothingToDelete(step.nothingToDelete()));
                if (claim != null) {
                    commands.releaseIdempotencyKey(claim.key());
                }
            } else {
                outcomes.put(step.unit(), new Outcome.Applied(List.copyOf(unitCommands)));
                if (claim != null) {
                    commands.completeIdempotencyKey(
                            claim.key(),
                            unitCommands.stream().mapToLong(StoredCommand::id).toArray());
                }
            }
        }
        groupSizes.record(stored.size());
        return outcomes;
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
