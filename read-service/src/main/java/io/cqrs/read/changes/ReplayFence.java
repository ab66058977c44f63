package io.cqrs.read.changes;

import io.cqrs.events.RecordChanges;
import io.cqrs.read.cache.NearCache;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.SmartLifecycle;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * Holds back what the commit notifications say until the read database can show it. On the primary that is at once.
 * On a streaming standby a notification arrives (from the primary) before the standby has replayed the commit it
 * announces, so the listener tags each batch of notifications with the primary's WAL position read after it arrived,
 * which is at or past the commits it announces (the projector commits synchronously), and this fence hands the
 * changes to the near cache and the waiting reads only once {@code pg_last_wal_replay_lsn()} on the read database has
 * reached that position. Nothing is then served from the cache, or reported as "version reached", before the standby
 * has the commit that made it.
 *
 * <p>The same positions, with the time the primary was at each (the listener sends one at least every heartbeat, even
 * with nothing to announce), give the replication lag honestly: 0 when the standby has replayed everything the primary
 * had, otherwise how long ago the primary was at the oldest position the standby has not replayed yet. A quiet
 * primary is not a lagging standby, and a paused or disconnected standby is.
 *
 * <p>Bounded: past {@code maxHeld} changes and positions held (replay paused, say) they are dropped, the cache is emptied and
 * bypassed, and resumed once the standby has replayed past the last dropped one; the waiting reads look again then.
 */
@Component
public class ReplayFence implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(ReplayFence.class);

    /** Longest pause between two looks at the standby's replay position while something is held. */
    private static final long MAX_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    /** How often the fence looks whether the read database is (still) a standby when nothing else happens. */
    private static final Duration ROLE_CHECK = Duration.ofSeconds(1);

    /**
     * A WAL position of the primary, when it was seen, and the changes committed at or before it; or, when
     * {@code resumes}, the position at which the listener subscribed after the cache's suspension number
     * {@code suspension}.
     */
    private record Point(
            long lsn,
            Instant seenAt,
            long heldSinceNanos,
            List<RecordChanges.Change> changes,
            boolean resumes,
            long suspension) {

        /** What it costs to hold: one for itself, one per change. */
        int weight() {
            return 1 + changes.size();
        }
    }

    /**
     * The replication lag as last measured; {@code bytes} and {@code seconds} null when unknown (no position from the
     * primary lately, or the standby's replay position unreadable); {@code primarySeenAt} when the listener last read
     * the primary's position, null if never.
     */
    public record Lag(
            boolean standby,
            @Nullable Long bytes,
            @Nullable Double seconds,
            @Nullable Instant primarySeenAt) {}

    private final JdbcTemplate readDatabase;
    private final NearCache<?> cache;
    private final VersionWaiters waiters;
    private final int maxHeld;
    private final Duration staleAfter;
    private final Clock clock;
    private final Timer standbyReplay;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    // Guarded by lock.
    private final ArrayDeque<Point> held = new ArrayDeque<>();
    private int heldWeight;
    private long suspensions;
    private long latestPrimaryLsn = -1;
    private @Nullable Instant latestPrimaryAt;
    private long replayedLsn = -1;
    // One per start, kept by that start's thread: a context stopped and started again (Spring's test context cache
    // pauses the contexts not in use) runs the fence again, and a thread that outlived its stop still sees it.
    private AtomicBoolean stopping = new AtomicBoolean();

    private volatile boolean standby;
    private volatile @Nullable Thread thread;

    ReplayFence(
            DataSource dataSource,
            NearCache<?> cache,
            VersionWaiters waiters,
            ListenerProperties properties,
            MeterRegistry meters) {
        this.readDatabase = new JdbcTemplate(dataSource);
        this.readDatabase.setQueryTimeout(2);
        this.cache = cache;
        this.waiters = waiters;
        this.maxHeld = properties.maxHeldChanges();
        // Without a position from the primary for this long, the lag cannot be told.
        this.staleAfter = properties.heartbeat().multipliedBy(4);
        this.clock = Clock.systemUTC();
        // On a standby, from the listener having a notice to the standby having replayed its commit (the changes then
        // reach the cache and the waiting reads): a stage of commit to visible that only a standby has.
        this.standbyReplay = VersionWaiters.stage(meters, "standby_replay");
        Gauge.builder("cqrs.read.replication.lag", this, f -> orNaN(f.lag().seconds()))
                .description("How long ago the primary was at the oldest WAL position this standby has not replayed;"
                        + " 0 when it replayed everything, NaN when unknown, absent meaning on a primary")
                .baseUnit("seconds")
                .register(meters);
        Gauge.builder(
                        "cqrs.read.replication.lag.bytes",
                        this,
                        f -> orNaN(f.lag().bytes()))
                .description("WAL bytes the primary has written that this standby has not replayed; NaN when unknown")
                .register(meters);
        Gauge.builder("cqrs.read.replica", this, f -> f.isStandby() ? 1 : 0)
                .description("1 when the read database is a streaming standby, 0 when it is the primary")
                .register(meters);
    }

    private static double orNaN(@Nullable Number value) {
        return value == null ? Double.NaN : value.doubleValue();
    }

    /** Whether the read database is a standby (reads wait for its replay); as last seen. */
    public boolean isStandby() {
        return standby;
    }

    /** Looks whether the read database is a standby now; true if so. */
    boolean checkRole() {
        try {
            Boolean recovering = readDatabase.queryForObject("select pg_is_in_recovery()", Boolean.class);
            boolean now = Boolean.TRUE.equals(recovering);
            if (now != standby) {
                log.info(
                        now
                                ? "The read database is a streaming standby: notifications wait for its replay"
                                : "The read database is a primary: notifications apply at once");
                standby = now;
                signal();
            }
        } catch (RuntimeException e) {
            log.debug("Cannot tell whether the read database is a standby: {}", e.getMessage());
        }
        return standby;
    }

    /**
     * Notifications that arrived, with the primary's WAL position read after them (-1 on a primary, when none is
     * needed); an empty list is a heartbeat, which only times the position. Applied at once when the read database is
     * the primary, else once the standby has replayed {@code primaryLsn}.
     */
    void announce(long primaryLsn, List<RecordChanges.Change> changes) {
        lock.lock();
        try {
            if (primaryLsn >= 0) {
                latestPrimaryLsn = Math.max(latestPrimaryLsn, primaryLsn);
                latestPrimaryAt = clock.instant();
            }
            if (!standby && held.isEmpty()) {
                apply(changes);
                return;
            }
            hold(new Point(primaryLsn, clock.instant(), System.nanoTime(), List.copyOf(changes), false, 0));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Notifications were lost (the listening connection went away): the cache is emptied and bypassed, and whatever
     * is held is dropped with it.
     */
    void lost() {
        lock.lock();
        try {
            suspendLocked();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The listener is subscribed again at the primary's position {@code primaryLsn} (-1 when unknown or not needed):
     * once the read database has replayed it, what was announced before can no longer be missing from it, so the
     * cache is used again and every waiting read looks again.
     */
    void subscribed(long primaryLsn) {
        lock.lock();
        try {
            if (!standby && held.isEmpty()) {
                resume();
                return;
            }
            hold(new Point(primaryLsn, clock.instant(), System.nanoTime(), List.of(), true, suspensions));
        } finally {
            lock.unlock();
        }
    }

    // Guarded by lock.
    private void hold(Point point) {
        if (heldWeight + point.weight() > maxHeld) {
            overflow(point.lsn());
            return;
        }
        held.addLast(point);
        heldWeight += point.weight();
        changed.signalAll();
    }

    /** The replication lag as last measured (see the class comment). */
    public Lag lag() {
        if (!standby) {
            return new Lag(false, 0L, 0.0, null);
        }
        lock.lock();
        try {
            Instant now = clock.instant();
            if (latestPrimaryAt == null
                    || replayedLsn < 0
                    || Duration.between(latestPrimaryAt, now).compareTo(staleAfter) > 0) {
                return new Lag(true, null, null, latestPrimaryAt);
            }
            long bytes = Math.max(0, latestPrimaryLsn - replayedLsn);
            Point oldest = held.peekFirst();
            double seconds = oldest == null || bytes == 0
                    ? 0.0
                    : Math.max(0, Duration.between(oldest.seenAt(), now).toNanos() / 1e9);
            return new Lag(true, bytes, seconds, latestPrimaryAt);
        } finally {
            lock.unlock();
        }
    }

    // Guarded by lock.
    private void overflow(long primaryLsn) {
        log.warn(
                "More than {} changes and positions wait for the standby to replay them: dropping them, bypassing the near cache until"
                        + " it has caught up",
                maxHeld);
        Instant oldest = held.isEmpty() ? clock.instant() : held.peekFirst().seenAt();
        suspendLocked();
        // Keeps the time of the oldest position not replayed, for the lag.
        held.addLast(new Point(primaryLsn, oldest, System.nanoTime(), List.of(), true, suspensions));
        heldWeight = 1;
        changed.signalAll();
    }

    // Guarded by lock.
    private void suspendLocked() {
        suspensions++;
        held.clear();
        heldWeight = 0;
        waiters.notificationsFlow(false);
        cache.suspend();
    }

    private void resume() {
        waiters.notificationsFlow(true);
        cache.resume();
        // Changes announced before the subscription are lost: whoever waits looks at the database again.
        waiters.wakeAll();
    }

    private void apply(List<RecordChanges.Change> changes) {
        for (RecordChanges.Change change : changes) {
            cache.versionReached(change.key(), change.version());
            waiters.versionReached(change.key(), change.version());
        }
    }

    private void signal() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void start() {
        checkRole();
        var stop = new AtomicBoolean();
        lock.lock();
        try {
            stopping = stop;
        } finally {
            lock.unlock();
        }
        Thread fence = Thread.ofPlatform().name("cqrs-replay-fence").daemon().unstarted(() -> run(stop));
        thread = fence;
        fence.start();
    }

    /** Started before the listener (which announces to it) and stopped after it. */
    @Override
    public int getPhase() {
        return WebServerApplicationContext.START_STOP_LIFECYCLE_PHASE - 1024;
    }

    @Override
    public void stop() {
        lock.lock();
        try {
            stopping.set(true);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        Thread fence = thread;
        if (fence != null) {
            try {
                fence.join(Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        thread = null;
    }

    @Override
    public boolean isRunning() {
        return thread != null;
    }

    private void run(AtomicBoolean stop) {
        long pollNanos = 0;
        long nextRoleCheck = System.nanoTime() + ROLE_CHECK.toNanos();
        while (true) {
            lock.lock();
            try {
                if (stop.get()) {
                    return;
                }
                // Nothing held: sleep until something is, or until the role is due for another look.
                long wait = held.isEmpty() ? nextRoleCheck - System.nanoTime() : pollNanos;
                if (wait > 0) {
                    changed.awaitNanos(wait);
                }
                if (stop.get()) {
                    return;
                }
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
            if (System.nanoTime() - nextRoleCheck >= 0) {
                checkRole();
                nextRoleCheck = System.nanoTime() + ROLE_CHECK.toNanos();
            }
            boolean moved = release();
            // While the standby catches up, look again soon; the longer it takes, the less often (up to 20 ms).
            pollNanos = moved ? 0 : Math.min(MAX_POLL_NANOS, Math.max(200_000, pollNanos * 2));
        }
    }

    /** Applies what the read database has replayed by now; whether anything was released. */
    private boolean release() {
        long replayed;
        if (standby) {
            replayed = replayPosition();
            if (replayed < 0) {
                return false;
            }
        } else {
            replayed = Long.MAX_VALUE; // promoted, or never a standby: everything held may go
        }
        boolean moved = false;
        while (true) {
            Point point;
            lock.lock();
            try {
                if (standby) {
                    replayedLsn = Math.max(replayedLsn, replayed);
                }
                point = held.peekFirst();
                if (point == null || point.lsn() > replayed) {
                    return moved;
                }
                held.removeFirst();
                heldWeight -= point.weight();
                if (point.resumes() && point.suspension() == suspensions) {
                    resume();
                }
                // Applied under the lock, so that a loss announced meanwhile cannot be overtaken by older changes.
                apply(point.changes());
                long waited = System.nanoTime() - point.heldSinceNanos();
                for (int i = 0; i < point.changes().size(); i++) {
                    standbyReplay.record(waited, TimeUnit.NANOSECONDS);
                }
            } finally {
                lock.unlock();
            }
            moved = true;
        }
    }

    /** The standby's replay position, or -1 when it cannot be read (then nothing is released). */
    private long replayPosition() {
        try {
            String lsn = readDatabase.queryForObject("select pg_last_wal_replay_lsn()::text", String.class);
            return lsn == null ? -1 : parseLsn(lsn);
        } catch (RuntimeException e) {
            log.debug("Cannot read the standby's replay position: {}", e.getMessage());
            return -1;
        }
    }

    /** A {@code pg_lsn} as text ({@code 16/B374D848}) as one number, ordered as WAL positions are. */
    static long parseLsn(String lsn) {
        int slash = lsn.indexOf('/');
        if (slash < 1) {
            throw new IllegalArgumentException("not a WAL position: " + lsn);
        }
        return (Long.parseLong(lsn.substring(0, slash), 16) << 32) | Long.parseLong(lsn.substring(slash + 1), 16);
    }
}
