package io.cqrs.projector;

import io.cqrs.events.EventStreams;
import io.cqrs.stream.LazyRedisConnection;
import io.lettuce.core.RedisException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether one consumer may take more entries: not while an operator paused this instance (held here, and announced in
 * the control hash for the others' status) or the whole group (a field of the control hash {@code <stream>:control},
 * so that every instance sees it, those started later too). The loop asks between batches; the group's field is read
 * at most every {@link #CHECK_INTERVAL}, so a busy loop costs Redis two {@code HGET}s a second, and a paused loop sees a
 * resume from another instance within that interval (one from this instance wakes it at once).
 */
final class PauseSwitch {

    /** How old the group's flag may be when the loop asks; also how long a paused loop sleeps between looks. */
    static final Duration CHECK_INTERVAL = Duration.ofMillis(500);

    private static final Logger log = LoggerFactory.getLogger(PauseSwitch.class);

    private final LazyRedisConnection redis;
    private final String key;
    private final String groupField;
    private final String instanceField;
    private final Clock clock;
    private final Semaphore wake = new Semaphore(0);

    private volatile boolean instancePaused;
    private volatile boolean groupPaused;
    private volatile Instant groupCheckedAt = Instant.MIN;

    PauseSwitch(LazyRedisConnection redis, String stream, String group, String consumer, Clock clock) {
        this.redis = redis;
        this.key = EventStreams.controlKey(stream);
        this.groupField = groupField(group);
        this.instanceField = instanceField(group, consumer);
        this.clock = clock;
    }

    /** The control hash's field that pauses every consumer of {@code group}. */
    static String groupField(String group) {
        return group + ":paused";
    }

    /** The control hash's field that says {@code consumer} of {@code group} was paused on its own. */
    static String instanceField(String group, String consumer) {
        return group + ":paused:" + consumer;
    }

    /**
     * Whether the loop must hold: this instance paused, or the group as last read (read again when older than the
     * check interval). While Redis cannot be asked the last answer stands: a paused group does not resume because Redis
     * is away.
     */
    boolean holds() {
        if (instancePaused) {
            return true;
        }
        Instant now = clock.instant();
        if (Duration.between(groupCheckedAt, now).compareTo(CHECK_INTERVAL) >= 0) {
            groupCheckedAt = now;
            try {
                groupPaused = redis.sync().hexists(key, groupField);
            } catch (RedisException e) {
                log.debug("Cannot read the pause flag of {} ({}); keeping the last answer", key, e.toString());
            }
        }
        return groupPaused;
    }

    boolean instancePaused() {
        return instancePaused;
    }

    /** The group's flag as the loop last saw it. */
    boolean groupPausedAsSeen() {
        return groupPaused;
    }

    /** The group's flag as Redis holds it now; Redis failures reach the caller. */
    boolean groupPausedNow() {
        boolean paused = redis.sync().hexists(key, groupField);
        groupPaused = paused;
        groupCheckedAt = clock.instant();
        return paused;
    }

    /** Pauses or resumes this instance, announced in the control hash (announcing is best effort). */
    void instance(boolean paused) {
        instancePaused = paused;
        try {
            if (paused) {
                redis.sync().hset(key, instanceField, clock.instant().toString());
            } else {
                redis.sync().hdel(key, instanceField);
            }
        } catch (RedisException e) {
            log.warn("Cannot announce this consumer's pause in {}: {}", key, e.toString());
        }
        wake.release();
    }

    /** Pauses or resumes every consumer of the group; Redis failures reach the caller, and nothing changed then. */
    void group(boolean paused) {
        if (paused) {
            redis.sync().hset(key, groupField, clock.instant().toString());
        } else {
            redis.sync().hdel(key, groupField);
        }
        groupPaused = paused;
        groupCheckedAt = clock.instant();
        wake.release();
    }

    /** Forgets a pause of this instance announced by a process before this one (its pause died with it). */
    void clearStaleAnnouncement() {
        if (!instancePaused) {
            redis.sync().hdel(key, instanceField);
        }
    }

    /** Sleeps up to the check interval, or until a resume or stop here wakes it. */
    void await() {
        try {
            if (wake.tryAcquire(CHECK_INTERVAL.toMillis(), TimeUnit.MILLISECONDS)) {
                wake.drainPermits();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Wakes a paused loop, to see a stop or a resume at once. */
    void wake() {
        wake.release();
    }
}
