package io.cqrs.read.changes;

import io.cqrs.events.RecordChanges;
import io.cqrs.read.primary.PrimaryDatabase;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;
import org.springframework.util.backoff.BackOffExecution;
import org.springframework.util.backoff.ExponentialBackOff;

/**
 * Holds one plain PgJDBC connection (outside the pool) that {@code LISTEN}s on {@link RecordChanges#CHANNEL}, on a
 * thread of its own, on the read database's primary ({@code READ_DB_PRIMARY_URL}, else {@code READ_DB_URL}). Each
 * notice drops older cache entries and wakes read-your-writes waiters, through the {@link ReplayFence}: at once on a
 * primary, once replayed on a standby, for which the listener tags what it hands over with the primary's WAL position
 * and sends that position at least every heartbeat. When the connection is lost, notices sent meanwhile are lost with
 * it: the cache is emptied and bypassed, and the listener reconnects with backoff; once subscribed again the cache is
 * re-enabled and every waiter looks again.
 */
@Component
class ChangeListener implements SmartLifecycle {

    /** The {@code application_name} of the listening connection, to find it in {@code pg_stat_activity}. */
    static final String APPLICATION_NAME = "cqrs-read-listener";

    private static final Logger log = LoggerFactory.getLogger(ChangeListener.class);

    /** SQLSTATE of a LISTEN on a standby ("cannot execute LISTEN during recovery"). */
    private static final String READ_ONLY = "25006";

    private final PrimaryDatabase primary;
    private final ReplayFence fence;
    private final ListenerProperties properties;
    private final ExponentialBackOff backOff;
    private final Timer notifyToListener;
    // The wall clock, as the projector reads its own for the time it puts in a notice.
    private final Clock clock = Clock.systemUTC();
    // One per start: a context that is stopped and started again (Spring's test context cache pauses the contexts not
    // in use) listens again, and a listener thread that outlived its stop still sees its own latch counted down.
    private volatile CountDownLatch stopping = new CountDownLatch(1);
    private volatile @Nullable Thread thread;
    private volatile @Nullable Connection connection;
    private volatile boolean listening;

    ChangeListener(PrimaryDatabase primary, ReplayFence fence, ListenerProperties properties, MeterRegistry meters) {
        this.primary = primary;
        this.fence = fence;
        this.properties = properties;
        this.backOff = new ExponentialBackOff(properties.reconnectMin().toMillis(), 2.0);
        this.backOff.setMaxInterval(properties.reconnectMax().toMillis());
        // From the projector's NOTIFY (sent right before its transaction commits, its clock) to this listener having
        // the
        // notice: the commit, PostgreSQL's delivery and the listener's wake-up, once per change announced.
        this.notifyToListener = VersionWaiters.stage(meters, "notify_to_listener");
        Gauge.builder("cqrs.read.notifications.connected", this, l -> l.isListening() ? 1 : 0)
                .description("1 while the commit-notification listener is subscribed, else 0")
                .register(meters);
    }

    boolean isListening() {
        return listening;
    }

    @Override
    public void start() {
        var stop = new CountDownLatch(1);
        stopping = stop;
        Thread listener =
                Thread.ofPlatform().name("cqrs-change-listener").daemon().unstarted(() -> run(stop));
        thread = listener;
        listener.start();
    }

    @Override
    public void stop() {
        stopping.countDown();
        closeQuietly(connection);
        Thread listener = thread;
        if (listener != null) {
            try {
                listener.join(Duration.ofSeconds(5));
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

    /**
     * Subscribed before the web server starts and unsubscribed after it stopped, so requests drained by a graceful
     * shutdown still have a fresh cache and their waits still get woken.
     */
    @Override
    public int getPhase() {
        return WebServerApplicationContext.START_STOP_LIFECYCLE_PHASE - 512;
    }

    private static boolean stopped(CountDownLatch stop) {
        return stop.getCount() == 0;
    }

    private void run(CountDownLatch stop) {
        BackOffExecution reconnects = backOff.start();
        while (!stopped(stop)) {
            long pause;
            try (Connection listen = connect()) {
                connection = listen;
                try (Statement statement = listen.createStatement()) {
                    statement.execute("LISTEN " + RecordChanges.CHANNEL);
                }
                listening = true;
                // Notices sent before LISTEN took effect are lost: the cache comes back, and whoever waits looks at
                // the database again, once the read database has what was committed until now.
                fence.subscribed(fence.checkRole() ? primaryPosition(listen) : -1);
                log.info("Listening for commit notifications on {}", RecordChanges.CHANNEL);
                reconnects = backOff.start();
                receive(listen, stop);
                pause = reconnects.nextBackOff();
            } catch (SQLException | RuntimeException e) {
                if (stopped(stop)) {
                    break;
                }
                pause = reconnects.nextBackOff();
                if (e instanceof SQLException sql && READ_ONLY.equals(sql.getSQLState())) {
                    log.error(
                            "Commit notifications unavailable: the read database is a standby, which cannot LISTEN."
                                    + " Set READ_DB_PRIMARY_URL to its primary; until then the near cache stays off and"
                                    + " reads waiting for a version look every {} ms. Retrying in {} ms",
                            VersionWaiters.POLL_WITHOUT_NOTIFICATIONS.toMillis(),
                            pause);
                } else {
                    log.warn("Commit notifications unavailable ({}); retrying in {} ms", e.getMessage(), pause);
                }
            } finally {
                connection = null;
                if (listening) {
                    listening = false;
                    fence.lost();
                }
            }
            if (pause(pause, stop)) {
                break;
            }
        }
        log.info("Stopped listening for commit notifications");
    }

    private void receive(Connection listen, CountDownLatch stop) throws SQLException {
        PGConnection pg = listen.unwrap(PGConnection.class);
        long quietSince = System.nanoTime();
        long heartbeatSince = System.nanoTime();
        while (!stopped(stop)) {
            boolean standby = fence.isStandby();
            int pollMillis = (int)
                    (standby
                            ? Math.min(
                                    properties.pollInterval().toMillis(),
                                    properties.heartbeat().toMillis())
                            : properties.pollInterval().toMillis());
            PGNotification[] notifications = pg.getNotifications(pollMillis);
            if (notifications != null && notifications.length > 0) {
                quietSince = System.nanoTime();
                var changes = new ArrayList<RecordChanges.Change>();
                boolean readable = true;
                for (PGNotification notification : notifications) {
                    readable &= read(notification, changes);
                }
                long position = standby ? primaryPosition(listen) : -1;
                if (standby) {
                    heartbeatSince = System.nanoTime();
                }
                fence.announce(position, changes);
                if (!readable) {
                    // We cannot tell which keys moved, so nothing cached can be trusted.
                    fence.lost();
                    fence.subscribed(position);
                }
            } else if (standby
                    && System.nanoTime() - heartbeatSince
                            > properties.heartbeat().toNanos()) {
                // Also the check that the connection still works.
                fence.announce(primaryPosition(listen), List.of());
                heartbeatSince = System.nanoTime();
                quietSince = heartbeatSince;
            } else if (System.nanoTime() - quietSince
                    > properties.pingInterval().toNanos()) {
                try (Statement ping = listen.createStatement()) {
                    ping.execute("select 1");
                }
                quietSince = System.nanoTime();
            }
        }
    }

    /**
     * The primary's WAL position now: at or past the commit of every notice received so far, which PostgreSQL
     * delivers only after the commit is written (the projector commits synchronously).
     */
    private static long primaryPosition(Connection listen) throws SQLException {
        try (Statement statement = listen.createStatement();
                ResultSet row = statement.executeQuery("select pg_current_wal_lsn()::text")) {
            row.next();
            return ReplayFence.parseLsn(row.getString(1));
        }
    }

    /** Adds the changes {@code notification} announces; false when it cannot be read. */
    private boolean read(PGNotification notification, List<RecordChanges.Change> changes) {
        if (!RecordChanges.CHANNEL.equals(notification.getName())) {
            return true;
        }
        RecordChanges.Notice notice;
        try {
            notice = RecordChanges.read(notification.getParameter());
        } catch (IllegalArgumentException e) {
            log.warn("Unreadable commit notification from backend {}: {}", notification.getPID(), e.getMessage());
            return false;
        }
        Instant sentAt = notice.sentAt();
        if (sentAt != null) {
            long nanos = Math.max(0, Duration.between(sentAt, clock.instant()).toNanos());
            for (int i = 0; i < notice.changes().size(); i++) {
                notifyToListener.record(nanos, TimeUnit.NANOSECONDS);
            }
        }
        changes.addAll(notice.changes());
        return true;
    }

    private Connection connect() throws SQLException {
        Properties info = primary.login();
        info.setProperty("ApplicationName", APPLICATION_NAME);
        info.setProperty("connectTimeout", "2");
        // A silently dead peer fails the periodic ping after this long instead of hanging the loop.
        info.setProperty(
                "socketTimeout",
                String.valueOf(Math.max(1, properties.pingInterval().toSeconds() * 2)));
        info.setProperty("tcpKeepAlive", "true");
        Connection listen = DriverManager.getConnection(primary.jdbcUrl(), info);
        listen.setAutoCommit(true);
        return listen;
    }

    /** Waits for {@code millis} unless stopping; true when stopping. */
    private static boolean pause(long millis, CountDownLatch stop) {
        try {
            return stop.await(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    private static void closeQuietly(@Nullable Connection connection) {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException e) {
                log.debug("Closing the listening connection: {}", e.getMessage());
            }
        }
    }
}
