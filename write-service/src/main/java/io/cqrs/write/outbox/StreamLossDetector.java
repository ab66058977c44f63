package io.cqrs.write.outbox;

import io.cqrs.events.EventStreams;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.RedisConnections;
import io.cqrs.write.outbox.StreamMarks.Mark;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisException;
import io.lettuce.core.ScriptOutputType;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.dao.DataAccessException;
import org.springframework.scheduling.annotation.SchedulingConfigurer;
import org.springframework.scheduling.config.ScheduledTaskRegistrar;
import org.springframework.stereotype.Component;

/**
 * Notices that Redis lost events of the stream, all of them (a restart without persistence, a flush, a fail-over to an
 * empty replica) or the latest ones (a restart from an older RDB snapshot, an AOF that lost its last second, a lagging
 * replica promoted), and has the outbox publish them again: rows published since the loss are marked unpublished, in
 * batches, and the sweeper publishes them once more. The projector's version guard makes duplicates harmless.
 *
 * <p>How a loss shows: every check sets a new <em>mark</em> in Redis beside the stream ({@link EventStreams#epochKey},
 * value {@code <epoch>:<seq>}), recorded in the write database first ({@link StreamMarks}) with the database's time and
 * the Redis process' {@code run_id}. Redis runs commands one at a time, and whatever it comes back from (a snapshot, an
 * AOF prefix, a replica) is a prefix of that order: holding mark N, it holds every XADD answered before N was set. So
 * each check reads the mark Redis holds and its process, and:
 *
 * <ul>
 *   <li>the latest confirmed mark, on the process that took it: intact;
 *   <li>the latest mark on another process (restarted, failed over): the events published after it may be gone;
 *       republish them ({@code restarted});
 *   <li>an older confirmed mark: rolled back; republish what was published after that mark ({@code rolled_back});
 *   <li>no mark, or one we never set, or the stream gone while the window holds published rows: everything may be gone;
 *       republish the retention window ({@code lost});
 *   <li>no mark recorded at all: a fresh install, adopted without replaying.
 * </ul>
 *
 * <p>"Published after the mark" is {@code published_at} later than the mark's time minus a margin of publish timeout
 * plus sweep interval. {@code published_at} is taken after Redis acknowledged the XADD, so it needs no margin in
 * principle; the margin covers the database clock being stepped back and rows marked by an instance of the previous
 * version during an upgrade, which stamped the sweeper's transaction start, before its XADDs by up to the publish
 * timeout and the sweeper's query.
 *
 * <p>Only confirmed marks count: a mark whose SET failed (Redis down) never reached Redis, so Redis holding an earlier
 * one is no rollback. The latest confirmed mark is read before Redis is, so another instance advancing the clock
 * meanwhile cannot make the mark Redis holds look old. A new mark is set with a compare-and-set that also requires the
 * same process, so a mark never lands on a Redis that restarted after the check read it.
 *
 * <p>Several instances: a mark's number is claimed in the database ({@code on conflict do nothing}), and only the
 * winner replays and sets it; the others do nothing that round. Two instances that read the clock a moment apart may
 * both replay; that is safe, only wasteful.
 */
@Component
class StreamLossDetector implements SchedulingConfigurer, DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(StreamLossDetector.class);

    /**
     * The mark, the process that answers (its run_id changes with every start, and a replica has its own) and whether
     * the stream exists, read at one instant.
     */
    private static final String OBSERVE = """
            local server = redis.call('INFO', 'server')
            return {redis.call('GET', KEYS[1]), string.match(server, 'run_id:(%w+)'), redis.call('EXISTS', KEYS[2])}
            """;

    /** Sets the new mark only while Redis holds the one the check read ('' for none), on the same process. */
    private static final String MARK = """
            local server = redis.call('INFO', 'server')
            if string.match(server, 'run_id:(%w+)') ~= ARGV[3] then return 0 end
            if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
            redis.call('SET', KEYS[1], ARGV[2])
            return 1
            """;

    private final String stream;
    private final String epochKey;
    private final OutboxRepository outbox;
    private final StreamMarks marks;
    private final OutboxProperties properties;
    private final Duration margin;
    private final Map<Outcome, Counter> replays = new EnumMap<>(Outcome.class);
    private final Counter replayedRows;
    private final Counter marksSet;
    private final LazyRedisConnection connection;

    StreamLossDetector(
            RedisConnections redis,
            StreamProperties stream,
            OutboxRepository outbox,
            StreamMarks marks,
            OutboxProperties properties,
            MeterRegistry meters) {
        this.connection = redis.lazy();
        this.stream = stream.stream();
        this.epochKey = EventStreams.epochKey(stream.stream());
        this.outbox = outbox;
        this.marks = marks;
        this.properties = properties;
        this.margin = properties.publishTimeout().plus(properties.sweepInterval());
        for (Outcome outcome : List.of(Outcome.LOST, Outcome.ROLLED_BACK, Outcome.RESTARTED)) {
            replays.put(
                    outcome,
                    Counter.builder("cqrs.outbox.replays")
                            .description("Losses of stream events detected and replayed from the outbox, by kind")
                            .tag("kind", kind(outcome))
                            .register(meters));
        }
        this.replayedRows = Counter.builder("cqrs.outbox.replayed.rows")
                .description("Outbox rows marked for republication after a loss of stream events")
                .register(meters);
        this.marksSet = Counter.builder("cqrs.stream.marks")
                .description("Marks this instance set on the stream's clock; rises while the loss detector runs")
                .register(meters);
    }

    /** What one check found. */
    enum Outcome {
        INTACT,
        ADOPTED,
        LOST,
        ROLLED_BACK,
        RESTARTED,
        /** Another instance claimed this round's mark. */
        YIELDED
    }

    /** @param rows outbox rows this check marked for republication */
    record Check(Outcome outcome, long rows) {}

    /** What Redis holds: the mark's token (null: none), its process, whether the stream exists. */
    private record Observed(@Nullable String token, String runId, boolean streamExists) {}

    /** @param since replay the rows published after this; null: replay nothing */
    private record Verdict(Outcome outcome, @Nullable Instant since) {}

    @Override
    public void configureTasks(ScheduledTaskRegistrar registrar) {
        registrar.addFixedDelayTask(this::checkOnSchedule, properties.lossCheckInterval());
    }

    void checkOnSchedule() {
        try {
            check();
        } catch (RedisCommandExecutionException e) {
            // Redis answered with an error: still loading its data, or this user may not run INFO (ACL).
            log.warn("Stream loss check of {} failed: {}", stream, e.getMessage());
        } catch (RedisException | DataAccessException e) {
            // Redis or the database is down: the sweeper reports that already; the next check catches up.
            log.debug("Stream loss check of {} skipped: {}", stream, e.toString());
        }
    }

    Check check() {
        Long latestConfirmed = marks.latestConfirmed(stream); // before Redis is read: see the class comment
        Observed redis = observe();
        Mark found = marks.find(stream, redis.token());
        if (found != null && !found.confirmed()) {
            marks.confirm(stream, found.seq()); // Redis holds it, so its SET landed; only the confirmation did not
        }
        Verdict verdict = judge(redis, found, latestConfirmed);
        Long latest = marks.latest(stream);
        long seq = latest == null ? 1 : latest + 1;
        String epoch = verdict.outcome() == Outcome.INTACT && found != null
                ? epochOf(found.token())
                : UUID.randomUUID().toString();
        String token = epoch + ":" + seq;
        if (!marks.claim(stream, seq, token, redis.runId())) {
            return new Check(Outcome.YIELDED, 0);
        }
        long rows = verdict.since() == null ? 0 : replay(verdict);
        if (setMark(redis, token)) {
            marks.confirm(stream, seq);
            marksSet.increment();
            marks.deleteOlderThan(stream, properties.retention());
        }
        report(verdict, found, token, rows);
        return new Check(verdict.outcome(), rows);
    }

    private Verdict judge(Observed redis, @Nullable Mark found, @Nullable Long latestConfirmed) {
        if (found == null) {
            return latestConfirmed == null ? new Verdict(Outcome.ADOPTED, null) : lost();
        }
        if (!redis.streamExists() && outbox.anyPublished(properties.retention(), outbox.now())) {
            return lost(); // someone deleted the stream and kept the mark
        }
        Instant afterMark = found.markedAt().minus(margin);
        if (latestConfirmed != null && found.seq() < latestConfirmed) {
            return new Verdict(Outcome.ROLLED_BACK, afterMark);
        }
        if (found.runId() != null && !found.runId().equals(redis.runId())) {
            return new Verdict(Outcome.RESTARTED, afterMark);
        }
        return new Verdict(Outcome.INTACT, null);
    }

    private Verdict lost() {
        return new Verdict(Outcome.LOST, outbox.now().minus(properties.retention()));
    }

    private Observed observe() {
        List<Object> reply = connection.sync().eval(OBSERVE, ScriptOutputType.MULTI, epochKey, stream);
        return new Observed((String) reply.get(0), (String) reply.get(1), (Long) reply.get(2) > 0);
    }

    private boolean setMark(Observed redis, String token) {
        Long set = connection
                .sync()
                .eval(
                        MARK,
                        ScriptOutputType.INTEGER,
                        new String[] {epochKey},
                        redis.token() == null ? "" : redis.token(),
                        token,
                        redis.runId());
        return set != null && set == 1;
    }

    /** Marks the rows published since the verdict's time unpublished, one batch per transaction, up to now. */
    private long replay(Verdict verdict) {
        Instant until = outbox.now();
        String reason = "replayed: stream " + kind(verdict.outcome());
        long total = 0;
        int marked;
        do {
            marked = outbox.unpublish(verdict.since(), until, properties.replayBatch(), reason);
            total += marked;
        } while (marked == properties.replayBatch());
        replays.get(verdict.outcome()).increment();
        replayedRows.increment(total);
        return total;
    }

    private void report(Verdict verdict, @Nullable Mark found, String token, long rows) {
        switch (verdict.outcome()) {
            case ADOPTED ->
                log.info("Stream {} starts its clock at mark {}; watching it for lost events", stream, token);
            case LOST ->
                log.warn(
                        "Stream {} lost its data (Redis holds {}): marked {} outbox rows published in the last {} for"
                                + " republication; new mark {}",
                        stream,
                        found == null ? "no mark of ours" : "mark " + found.token() + " but no stream",
                        rows,
                        properties.retention(),
                        token);
            case ROLLED_BACK, RESTARTED -> {
                Mark mark = Objects.requireNonNull(found);
                log.warn(
                        "Stream {} {} mark {} set at {}: marked {} outbox rows published since {} for republication;"
                                + " new mark {}",
                        stream,
                        verdict.outcome() == Outcome.ROLLED_BACK
                                ? "was rolled back to"
                                : "restarted or failed over at its latest",
                        mark.token(),
                        mark.markedAt(),
                        rows,
                        verdict.since(),
                        token);
            }
            case INTACT, YIELDED -> log.debug("Stream {} intact; new mark {}", stream, token);
        }
    }

    private static String kind(Outcome outcome) {
        return outcome.name().toLowerCase(Locale.ROOT);
    }

    /** The epoch part of a token, kept while the stream is intact; a token of V4's epoch is all epoch. */
    private static String epochOf(String token) {
        int colon = token.lastIndexOf(':');
        return colon < 0 ? token : token.substring(0, colon);
    }

    @Override
    public void destroy() {
        connection.close();
    }
}
