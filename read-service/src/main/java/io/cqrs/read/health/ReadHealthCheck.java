package io.cqrs.read.health;

import io.cqrs.stream.GroupStatus;
import io.cqrs.stream.StreamStatus;
import java.time.Duration;
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

    // On a standby, lag is the age of the last replayed transaction, but only while WAL is waiting to be replayed:
    // a standby that has replayed all it received is current, however long ago the primary last wrote.
    private static final String DATABASE_CHECK = """
            select pg_is_in_recovery() as standby,
                   case when not pg_is_in_recovery() then null
                        when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
                        else greatest(0, extract(epoch from now() - pg_last_xact_replay_timestamp()))::float8
                   end as replay_lag
            """;

    private record Database(boolean standby, @Nullable Double replayLagSeconds) {}

    private record Lag(double seconds, long pending, ReadHealth.@Nullable Reconciliation reconciliation) {}

    private final JdbcTemplate jdbc;
    private final ProjectionProbe probe;
    private final HealthProperties properties;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();

    ReadHealthCheck(DataSource dataSource, ProjectionProbe probe, HealthProperties properties) {
        this.jdbc = new JdbcTemplate(dataSource);
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
        ReadHealth.Replication replication = null;
        if (db != null && db.standby()) {
            Double lag = db.replayLagSeconds();
            replication = new ReadHealth.Replication(true, lag, lag != null && lag <= threshold);
        }
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
            reasons.add("the standby replays the primary's changes more than " + threshold + " s late");
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
        return jdbc.queryForObject(DATABASE_CHECK, (row, n) -> {
            double lag = row.getDouble("replay_lag");
            return new Database(row.getBoolean("standby"), row.wasNull() ? null : lag);
        });
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
