package io.cqrs.read.health;

import io.cqrs.read.changes.ReplayFence;
import io.cqrs.stream.GroupStatus;
import io.cqrs.stream.StreamStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * Asks the read database and Redis in parallel, each within {@code cqrs.health.timeout}, so the answer is quick even
 * when one of them hangs or is gone. Lag comes from Redis' clock and the group's oldest unfinished entry (see
 * {@link GroupStatus#lagSeconds}): a quiet system is not lagging, a stalled projector with work waiting is.
 */
@Component
class ReadHealthCheck implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(ReadHealthCheck.class);

    private record Database(boolean standby) {}

    private record Lag(double seconds, long pending, ReadHealth.@Nullable Reconciliation reconciliation) {}

    private final JdbcTemplate jdbc;
    private final ReplayFence fence;
    private final ProjectionProbe probe;
    private final HealthProperties properties;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();

    ReadHealthCheck(DataSource dataSource, ReplayFence fence, ProjectionProbe probe, HealthProperties properties) {
        this.jdbc = new JdbcTemplate(dataSource);
        this.fence = fence;
        this.jdbc.setQueryTimeout((int) Math.max(1, properties.timeout().toSeconds()));
        this.probe = probe;
        this.properties = properties;
    }

    ReadHealth check() {
        long deadline = System.nanoTime() + properties.timeout().toNanos();
        CompletableFuture<Database> database = CompletableFuture.supplyAsync(this::database, executor);
        CompletableFuture<Lag> stream = CompletableFuture.supplyAsync(this::lag, executor);
        Database db = await(database, deadline, "read database");
        Lag status = await(stream, deadline, "Redis");

        double threshold = seconds(properties.lagThreshold());
        ReadHealth.Projection projection;
        if (status == null) {
            projection = new ReadHealth.Projection(null, null, threshold, false);
        } else {
            projection = new ReadHealth.Projection(
                    status.seconds(), status.pending(), threshold, status.seconds() <= threshold);
        }
        ReadHealth.Replication replication = db != null && db.standby() ? replication(threshold) : null;
        var reasons = new ArrayList<String>();
        if (db == null) {
            reasons.add("the read database does not answer");
        }
        if (status == null) {
            reasons.add("Redis does not answer: projection lag unknown");
        } else if (!projection.healthy()) {
            reasons.add("projection lag " + status.seconds() + " s is above " + threshold + " s");
        }
        if (replication != null && !replication.healthy()) {
            reasons.add(
                    replication.lagSeconds() == null
                            ? "replication lag unknown: the primary (READ_DB_PRIMARY_URL) or the standby does not answer"
                            : "the standby replays the primary's changes " + replication.lagSeconds()
                                    + " s late, more than " + threshold + " s");
        }
        ReadHealth.Reconciliation reconciliation = status == null ? null : status.reconciliation();
        if (reconciliation != null && reconciliation.diverged() > 0) {
            reasons.add(reconciliation.diverged() + " keys differ from the write database and are being repaired");
        }
        if (reconciliation != null && reconciliation.ahead() > 0) {
            reasons.add(reconciliation.ahead() + " keys are ahead of the write database (restored from a backup?):"
                    + " an operator must rebuild them");
        }
        String overall = db == null ? ReadHealth.DOWN : reasons.isEmpty() ? ReadHealth.UP : ReadHealth.DEGRADED;
        return new ReadHealth(
                overall,
                db == null ? ReadHealth.DOWN : ReadHealth.UP,
                status == null ? ReadHealth.DOWN : ReadHealth.UP,
                projection,
                replication,
                reconciliation,
                reasons);
    }

    private Database database() {
        return new Database(Boolean.TRUE.equals(jdbc.queryForObject("select pg_is_in_recovery()", Boolean.class)));
    }

    /** The standby's replication lag, as the replay fence measures it from the primary's positions. */
    private ReadHealth.Replication replication(double threshold) {
        ReplayFence.Lag lag = fence.lag();
        double maxLag = seconds(properties.replicationMaxLag());
        boolean ready;
        if (lag.seconds() != null) {
            ready = lag.seconds() <= maxLag;
        } else {
            // Unknown: still serving what it has, for as long as a known lag could have been acceptable.
            Instant seen = lag.primarySeenAt();
            ready = seen != null && seconds(Duration.between(seen, Instant.now())) <= maxLag;
        }
        return new ReadHealth.Replication(
                true,
                lag.seconds(),
                lag.bytes(),
                threshold,
                maxLag,
                lag.seconds() != null && lag.seconds() <= threshold,
                ready);
    }

    private Lag lag() {
        StreamStatus status = probe.inspect();
        long pending = status.group(probe.group()).map(GroupStatus::pending).orElse(0L);
        return new Lag(probe.lagSeconds(status), pending, probe.reconciliation());
    }

    private static <T> @Nullable T await(CompletableFuture<T> check, long deadline, String what) {
        try {
            return check.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            log.debug("Health check: {} did not answer in time", what);
            check.cancel(true);
            return null;
        } catch (ExecutionException e) {
            log.debug("Health check: {} failed: {}", what, e.getCause().getMessage());
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static double seconds(Duration duration) {
        return duration.toNanos() / 1e9;
    }

    @Override
    public void destroy() {
        executor.shutdownNow();
    }
}
