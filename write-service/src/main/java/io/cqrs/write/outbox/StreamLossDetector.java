package io.cqrs.write.outbox;

import io.cqrs.events.EventStreams;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.RedisConnections;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.sync.RedisCommands;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Instant;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.dao.DataAccessException;
import org.springframework.scheduling.annotation.SchedulingConfigurer;
import org.springframework.scheduling.config.ScheduledTaskRegistrar;
import org.springframework.stereotype.Component;

/**
 * Notices that Redis lost the stream's data (a restart without persistence, a flush, a fail-over to an empty replica)
 * and replays the outbox retention window: published rows are marked unpublished again, in batches, and the sweeper
 * publishes them once more. The projector recreates its group at 0 on {@code NOGROUP} and its version guard makes
 * the events it had already applied harmless.
 *
 * <p>How a loss shows: beside the stream, Redis holds a random token ({@link EventStreams#epochKey}) that the write
 * database records too ({@code stream_epochs}). A stream's data cannot vanish without the token vanishing with it,
 * so a token missing or different from the recorded one means the events published before may be gone. Comparing
 * the stream's own figures would not do: once the relay has added new events to the recreated stream, its length
 * and last id look healthy again. The stream key missing while the window holds published rows (someone deleted
 * it) counts as a loss too.
 *
 * <p>Several instances: the token is set with {@code SET NX}, so all of them agree on the new epoch; each replays
 * while the database still records the old one, and moving the recorded epoch is a compare-and-set. Two instances
 * replaying at once is safe, only wasteful: the same rows are published twice. A fresh install (no epoch recorded)
 * adopts the token without replaying: there is no earlier life of the stream to lose.
 */
@Component
class StreamLossDetector implements SchedulingConfigurer, DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(StreamLossDetector.class);

    /** Deletes the token only if it is still the one we judged stale, so a newer token is never removed. */
    private static final String DELETE_IF_EQUAL =
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

    private final String stream;
    private final String epochKey;
    private final OutboxRepository outbox;
    private final OutboxProperties properties;
    private final Counter replays;
    private final Counter replayedRows;
    private final LazyRedisConnection connection;

    StreamLossDetector(
            RedisConnections redis,
            StreamProperties stream,
            OutboxRepository outbox,
            OutboxProperties properties,
            MeterRegistry meters) {
        this.connection = redis.lazy();
        this.stream = stream.stream();
        this.epochKey = EventStreams.epochKey(stream.stream());
        this.outbox = outbox;
        this.properties = properties;
        this.replays = Counter.builder("cqrs.outbox.replays")
                .description("Losses of the stream's data detected and replayed from the outbox")
                .register(meters);
        this.replayedRows = Counter.builder("cqrs.outbox.replayed.rows")
                .description("Outbox rows marked for republication after a loss of the stream's data")
                .register(meters);
    }

    /** What one check found. */
    enum Outcome {
        INTACT,
        ADOPTED,
        REPLAYED
    }

    /** @param rows outbox rows this check marked for republication */
    record Check(Outcome outcome, long rows) {}

    @Override
    public void configureTasks(ScheduledTaskRegistrar registrar) {
        registrar.addFixedDelayTask(this::checkOnSchedule, properties.lossCheckInterval());
    }

    void checkOnSchedule() {
        try {
            check();
        } catch (RedisException | DataAccessException e) {
            // Redis or the database is down: the sweeper reports that already; the next check catches up.
            log.debug("Stream loss check of {} skipped: {}", stream, e.toString());
        }
    }

    Check check() {
        RedisCommands<String, String> commands = connection.sync();
        String recorded = outbox.streamEpoch(stream);
        String current = commands.get(epochKey);
        if (current != null && current.equals(recorded)) {
            if (commands.exists(stream) > 0 || !outbox.anyPublished(properties.retention(), outbox.now())) {
                return new Check(Outcome.INTACT, 0);
            }
            // The token survived but the stream did not: someone deleted it. Start a new epoch, as after a loss.
            commands.eval(DELETE_IF_EQUAL, ScriptOutputType.INTEGER, new String[] {epochKey}, current);
        }
        commands.set(epochKey, UUID.randomUUID().toString(), SetArgs.Builder.nx());
        current = commands.get(epochKey);
        if (current == null) {
            return new Check(Outcome.INTACT, 0); // lost again just now: the next check deals with it
        }
        if (recorded == null) {
            outbox.moveStreamEpoch(stream, null, current);
            log.info("Stream {} is at epoch {}; watching it for data loss", stream, current);
            return new Check(Outcome.ADOPTED, 0);
        }
        long rows = replay();
        boolean moved = outbox.moveStreamEpoch(stream, recorded, current);
        replays.increment();
        replayedRows.increment(rows);
        log.warn(
                "Stream {} lost its data (epoch {} gone, now {}): marked {} outbox rows published in the last {} for"
                        + " republication{}",
                stream,
                recorded,
                current,
                rows,
                properties.retention(),
                moved ? "" : " (another instance replayed it too)");
        return new Check(Outcome.REPLAYED, rows);
    }

    /** Marks the window's published rows unpublished, one batch per transaction, up to the moment it started. */
    private long replay() {
        Instant until = outbox.now();
        long total = 0;
        int marked;
        do {
            marked = outbox.unpublish(properties.retention(), until, properties.replayBatch());
            total += marked;
        } while (marked == properties.replayBatch());
        return total;
    }

    @Override
    public void destroy() {
        connection.close();
    }
}
