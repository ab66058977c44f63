package io.cqrs.projector;

import io.lettuce.core.models.stream.PendingMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongFunction;

/**
 * What a pending entry's delivery count decides. Past {@code maxDeliveries} an entry is suspect: consumers crashed while
 * holding it, maybe because of it, maybe not (kill -9, OOM, a deploy). It is not dead-lettered for that: it is applied
 * alone, so that if it does crash the process it takes nobody else with it, and each further claim of it waits twice
 * as long as the one before, so that an entry that keeps crashing consumers costs little while the others flow.
 *
 * @param maxDeliveries deliveries after which an entry is suspect
 * @param claimIdle how long an entry stays idle before it is claimed, up to the limit
 * @param maxBackoff the longest a suspect entry waits between claims; never below {@code claimIdle}
 */
record DeliveryLimit(int maxDeliveries, Duration claimIdle, Duration maxBackoff) {

    DeliveryLimit {
        if (maxBackoff.compareTo(claimIdle) < 0) {
            maxBackoff = claimIdle;
        }
    }

    static DeliveryLimit of(ProjectorProperties.Projector settings) {
        return new DeliveryLimit(settings.maxDeliveries(), settings.claimIdle(), settings.suspectMaxBackoff());
    }

    /** Whether an entry delivered this often (the delivery in hand included) is applied alone. */
    boolean suspect(long deliveries) {
        return deliveries > maxDeliveries;
    }

    /**
     * How long an entry delivered {@code deliveries} times must have been idle before another claim: the claim idle time
     * up to the limit, then doubled for each delivery past it ({@code claimIdle * 2^(deliveries - maxDeliveries)}), at
     * most {@code maxBackoff}.
     */
    Duration idleBeforeClaim(long deliveries) {
        long past = deliveries - maxDeliveries;
        if (past <= 0) {
            return claimIdle;
        }
        // Doubled step by step and only up to the maximum: 2^past itself overflows for an entry delivered very often.
        Duration wait = claimIdle;
        for (long i = 0; i < past && wait.compareTo(maxBackoff) < 0; i++) {
            wait = wait.multipliedBy(2);
        }
        return wait.compareTo(maxBackoff) < 0 ? wait : maxBackoff;
    }

    /**
     * How long an entry this consumer itself left pending (before a restart under the same name) must have been idle
     * before it takes it again: no time at all below the limit, as at any start, then the same backoff as any claim, so
     * that a process that an entry keeps crashing does not apply it again at each start.
     */
    Duration idleBeforeReclaim(long deliveries) {
        return deliveries < maxDeliveries ? Duration.ZERO : idleBeforeClaim(deliveries);
    }

    /**
     * Pending entries due for a claim, and the least idle time among them: an {@code XCLAIM} with that minimum idle time
     * takes none of them that another consumer claimed or read since {@code XPENDING} reported them.
     */
    record Due(List<String> ids, Duration leastIdle) {
        Due {
            ids = List.copyOf(ids);
        }
    }

    /**
     * The pending entries whose idle time has reached their {@code wait}, in the order given.
     *
     * @param wait the idle time an entry needs, by its delivery count
     */
    static Due due(List<PendingMessage> pending, LongFunction<Duration> wait) {
        var ids = new ArrayList<String>(pending.size());
        long leastIdle = Long.MAX_VALUE;
        for (PendingMessage entry : pending) {
            long idle = entry.getMsSinceLastDelivery();
            if (idle >= wait.apply(entry.getRedeliveryCount()).toMillis()) {
                ids.add(entry.getId());
                leastIdle = Math.min(leastIdle, idle);
            }
        }
        return new Due(ids, ids.isEmpty() ? Duration.ZERO : Duration.ofMillis(leastIdle));
    }
}
