package io.cqrs.projector.rebuild;

import jakarta.annotation.PreDestroy;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * Starts, follows and cancels rebuilds, one at a time across all instances, and cleans up after one whose instance
 * died. The instance that starts a rebuild runs it ({@link RebuildRun}) and keeps its heartbeat and progress in
 * {@code rebuilds} every second; any instance answers for it. A rebuild whose heartbeat is older than
 * {@code cqrs.rebuild.heartbeat-timeout} is failed, its dual apply turned off and its shadow dropped, by whichever
 * instance looks first (every few seconds, and on each call): resuming it would have to verify everything again, so
 * starting anew is as cheap and simpler to reason about.
 */
@Component
class Rebuilds {

    private static final Logger log = LoggerFactory.getLogger(Rebuilds.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final RebuildRepository rebuilds;
    private final WriteDatabase write;
    private final ShadowTable shadows;
    private final TransactionTemplate transactions;
    private final RebuildProperties properties;
    private final RebuildRun.Tools tools;
    private final String owner = owner();
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("cqrs-rebuild-ticker").daemon().factory());

    private volatile @Nullable RebuildRun current;
    private volatile @Nullable Thread worker;
    private volatile long lastProgressLog = System.nanoTime();

    Rebuilds(
            RebuildRepository rebuilds,
            WriteDatabase write,
            ShadowTable shadows,
            Switch switcher,
            RebuildMetrics metrics,
            TransactionTemplate transactions,
            RebuildProperties properties) {
        this.rebuilds = rebuilds;
        this.write = write;
        this.shadows = shadows;
        this.transactions = transactions;
        this.properties = properties;
        this.tools = new RebuildRun.Tools(write, shadows, rebuilds, switcher, metrics, properties);
        ticker.scheduleWithFixedDelay(this::tick, 1, 1, TimeUnit.SECONDS);
        long cleanUp = Math.max(1, properties.heartbeatInterval().toSeconds());
        ticker.scheduleWithFixedDelay(this::cleanUpQuietly, 0, cleanUp, TimeUnit.SECONDS);
    }

    /**
     * Starts a rebuild of {@code scope} at {@code keysPerSecond} (the configured rate when null): counts its keys in
     * the write database, records it, makes its shadow table and turns the dual apply on in one transaction, then
     * starts copying on a thread of its own.
     *
     * @throws RebuildRefused.Conflict while another rebuild runs
     * @throws RebuildRefused.WriteDatabaseDown when the write database does not answer (nothing changed)
     */
    RebuildStatus start(Scope scope, @Nullable Integer keysPerSecond) {
        cleanUp();
        rebuilds.running().ifPresent(running -> {
            throw new RebuildRefused.Conflict("rebuild #" + running.id() + " of " + running.scope() + " is "
                    + running.state().label() + "; cancel it first (DELETE /actuator/rebuild) or wait for it to end");
        });
        int rate = keysPerSecond == null ? properties.keysPerSecond() : keysPerSecond;
        long total;
        try {
            total = write.count(scope);
        } catch (DataAccessException e) {
            log.warn("Cannot start a rebuild: the write database does not answer ({})", e.toString());
            throw new RebuildRefused.WriteDatabaseDown(e);
        }
        long id;
        try {
            id = transactions.execute(status -> {
                long created = rebuilds.insert(scope, rate, total, owner);
                var shadow = new ShadowTarget(ShadowTarget.tableOf(created), scope);
                shadows.create(shadow);
                // On before the copy begins: whatever commits in the write database after the copy read a key reaches
                // the shadow through the stream.
                rebuilds.applyToShadow(shadow);
                return created;
            });
        } catch (DuplicateKeyException e) {
            throw new RebuildRefused.Conflict("another rebuild has just started");
        }
        var run = new RebuildRun(id, new ShadowTarget(ShadowTarget.tableOf(id), scope), rate, total, tools);
        tools.metrics().started(run);
        current = run;
        log.info("Rebuild #{} of {} started: {} keys at {} keys/s", id, scope, total, rate);
        worker = Thread.ofVirtual().name("cqrs-rebuild-" + id).start(() -> {
            try {
                run.run();
            } finally {
                current = null;
            }
        });
        return status();
    }

    /**
     * Cancels the running rebuild, wherever it runs, and waits a little for it to end; returns the status (unchanged
     * when none runs).
     *
     * @throws RebuildRefused.Conflict once the switch has begun: it commits or fails as a whole
     */
    RebuildStatus cancel() {
        cleanUp();
        Optional<RebuildRepository.Row> running = rebuilds.running();
        if (running.isEmpty()) {
            return status();
        }
        long id = running.get().id();
        if (!rebuilds.requestCancel(id)) {
            throw new RebuildRefused.Conflict("rebuild #" + id + " is switching; it can no longer be cancelled");
        }
        RebuildRun run = current;
        Thread thread = worker;
        if (run != null && run.id() == id && thread != null) {
            run.cancel();
            try {
                thread.join(Duration.ofSeconds(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else {
            // Another instance runs it: it sees the request at its next heartbeat, within a second or so.
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (System.nanoTime() < deadline
                    && rebuilds.running().filter(r -> r.id() == id).isPresent()) {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        return status();
    }

    /** The running rebuild, else the latest, else idle. */
    RebuildStatus status() {
        cleanUpQuietly();
        return rebuilds.latest()
                .map(row -> RebuildStatus.of(row, differences(row.differences())))
                .orElse(RebuildStatus.IDLE);
    }

    /**
     * Fails running rebuilds whose instance stopped heart-beating, turns off a dual apply no running rebuild owns, and
     * drops shadow tables no running rebuild owns.
     */
    void cleanUp() {
        for (var abandoned : rebuilds.abandoned(properties.heartbeatTimeout())) {
            if (rebuilds.finish(
                    abandoned.id(),
                    RebuildState.FAILED,
                    "its instance (" + abandoned.owner() + ") stopped: no heartbeat since " + abandoned.heartbeatAt(),
                    "[]")) {
                log.warn(
                        "Rebuild #{} failed: its instance {} has not been heard of since {}; cleaning up",
                        abandoned.id(),
                        abandoned.owner(),
                        abandoned.heartbeatAt());
            }
        }
        // What exists first, then who owns it: a rebuild records itself, makes its table and turns the dual apply on
        // in one transaction, so a table or dual apply seen here belongs to a rebuild the next read sees running.
        List<String> tables = shadows.existing();
        Optional<String> applied = rebuilds.shadowApplied();
        String owned = rebuilds.running().map(r -> ShadowTarget.tableOf(r.id())).orElse(null);
        applied.filter(table -> !table.equals(owned)).ifPresent(table -> {
            log.warn("Turning off the dual apply to {}, which no running rebuild owns", table);
            rebuilds.stopApplyingToShadow(table);
        });
        for (String table : tables) {
            if (!table.equals(owned)) {
                log.info("Dropping {}, the shadow table of a rebuild that ended", table);
                shadows.drop(table);
            }
        }
    }

    private void cleanUpQuietly() {
        try {
            cleanUp();
        } catch (RuntimeException e) {
            log.debug("Rebuild clean-up skipped: {}", e.toString());
        }
    }

    private void tick() {
        RebuildRun run = current;
        if (run == null) {
            return;
        }
        try {
            run.tick();
        } catch (RuntimeException e) {
            log.warn("Rebuild #{}: cannot store its heartbeat ({})", run.id(), e.toString());
        }
        long now = System.nanoTime();
        if (now - lastProgressLog >= properties.progressLogInterval().toNanos()) {
            lastProgressLog = now;
            run.logProgress();
        }
    }

    /** Stops the running rebuild with the instance: cancelled, cleaned up (a switch under way finishes first). */
    @PreDestroy
    void stop() {
        ticker.shutdownNow();
        RebuildRun run = current;
        Thread thread = worker;
        if (run != null && thread != null) {
            log.info("Cancelling rebuild #{}: the instance stops", run.id());
            run.cancel();
            try {
                thread.join(Duration.ofSeconds(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static List<Difference> differences(String json) {
        try {
            return JSON.readValue(json, new TypeReference<List<Difference>>() {});
        } catch (RuntimeException e) {
            return List.of();
        }
    }

    private static String owner() {
        String host = System.getenv("HOSTNAME");
        if (host == null || host.isBlank()) {
            try {
                host = InetAddress.getLocalHost().getHostName();
            } catch (UnknownHostException e) {
                host = "projector";
            }
        }
        return host + "-" + ProcessHandle.current().pid();
    }
}
