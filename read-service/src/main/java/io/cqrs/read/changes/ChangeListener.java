package io.cqrs.read.changes;

import io.cqrs.events.RecordChanges;
import io.cqrs.read.cache.NearCache;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;
import org.springframework.util.backoff.BackOffExecution;
import org.springframework.util.backoff.ExponentialBackOff;

/**
 * Holds one plain PgJDBC connection (outside the pool) that {@code LISTEN}s on {@link RecordChanges#CHANNEL}, on a
 * thread of its own. Each notice drops older cache entries and wakes read-your-writes waiters. When the connection
 * is lost, notices sent meanwhile are lost with it: the cache is emptied and bypassed, and the listener reconnects
 * with backoff; once subscribed again it re-enables the cache and wakes every waiter to look again.
 */
@Component
class ChangeListener implements SmartLifecycle {

    /** The {@code application_name} of the listening connection, to find it in {@code pg_stat_activity}. */
    static final String APPLICATION_NAME = "cqrs-read-listener";

    private static final Logger log = LoggerFactory.getLogger(ChangeListener.class);

    private final JdbcConnectionDetails database;
    private final NearCache<?> cache;
    private final VersionWaiters waiters;
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

    ChangeListener(
            JdbcConnectionDetails database,
            NearCache<?> cache,
            VersionWaiters waiters,
            ListenerProperties properties,
            MeterRegistry meters) {
        this.database = database;
        this.cache = cache;
        this.waiters = waiters;
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
                cache.resume();
                listening = true;
                // Notices sent before LISTEN took effect are lost: whoever waits looks at the database again.
                waiters.wakeAll();
                log.info("Listening for commit notifications on {}", RecordChanges.CHANNEL);
                reconnects = backOff.start();
                receive(listen, stop);
                pause = reconnects.nextBackOff();
            } catch (SQLException | RuntimeException e) {
                if (stopped(stop)) {
                    break;
                }
                pause = reconnects.nextBackOff();
                log.warn("Commit notifications unavailable ({}); retrying in {} ms", e.getMessage(), pause);
            } finally {
                connection = null;
                if (listening) {
                    listening = false;
                    cache.suspend();
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
        int pollMillis = (int) properties.pollInterval().toMillis();
        long quietSince = System.nanoTime();
        while (!stopped(stop)) {
            PGNotification[] notifications = pg.getNotifications(pollMillis);
            if (notifications != null && notifications.length > 0) {
                quietSince = System.nanoTime();
                for (PGNotification notification : notifications) {
                    dispatch(notification);
                }
            } else if (System.nanoTime() - quietSince
                    > properties.pingInterval().toNanos()) {
                try (Statement ping = listen.createStatement()) {
                    ping.execute("select 1");
                }
                quietSince = System.nanoTime();
            }
        }
    }

    private void dispatch(PGNotification notification) {
        if (!RecordChanges.CHANNEL.equals(notification.getName())) {
            return;
        }
        RecordChanges.Notice notice;
        try {
            notice = RecordChanges.read(notification.getParameter());
        } catch (IllegalArgumentException e) {
            // We cannot tell which keys moved, so nothing cached can be trusted.
            log.warn("Unreadable commit notification from backend {}: {}", notification.getPID(), e.getMessage());
            cache.suspend();
            cache.resume();
            waiters.wakeAll();
            return;
        }
        Instant sentAt = notice.sentAt();
        if (sentAt != null) {
            long nanos = Math.max(0, Duration.between(sentAt, clock.instant()).toNanos());
            for (int i = 0; i < notice.changes().size(); i++) {
                notifyToListener.record(nanos, TimeUnit.NANOSECONDS);
            }
        }
        for (RecordChanges.Change change : notice.changes()) {
            cache.versionReached(change.key(), change.version());
            waiters.versionReached(change.key(), change.version());
        }
        log.debug("Commit notification with {} changes", notice.changes().size());
    }

    private Connection connect() throws SQLException {
        var info = new Properties();
        info.setProperty("user", database.getUsername());
        String password = database.getPassword();
        if (password != null) {
            info.setProperty("password", password);
        }
        info.setProperty("ApplicationName", APPLICATION_NAME);
        info.setProperty("connectTimeout", "2");
        // A silently dead peer fails the periodic ping after this long instead of hanging the loop.
        info.setProperty(
                "socketTimeout",
                String.valueOf(Math.max(1, properties.pingInterval().toSeconds() * 2)));
        info.setProperty("tcpKeepAlive", "true");
        Connection listen = DriverManager.getConnection(database.getJdbcUrl(), info);
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
