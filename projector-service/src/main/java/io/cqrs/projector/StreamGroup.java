package io.cqrs.projector;

import io.cqrs.events.EventStreams;
import io.cqrs.projector.deadletters.DeadLetterFields;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.StreamEntryId;
import io.lettuce.core.Consumer;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.RedisBusyException;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandInterruptedException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisException;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XClaimArgs;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XPendingArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.models.stream.PendingMessage;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One consumer's view of the consumer group: the stream commands the projector sends, in one place. Blocking reads go
 * through the reader connection the caller owns; everything else through the shared connection.
 */
final class StreamGroup {

    /** Fields the dead-letter entry adds to the original entry's fields; prefixed so they never collide with them. */
    static final String DLQ_REASON = DeadLetterFields.REASON;

    static final String DLQ_PROBLEM = DeadLetterFields.PROBLEM;
    static final String DLQ_FIELD = DeadLetterFields.FIELD;
    static final String DLQ_ORIGINAL_ID = DeadLetterFields.ORIGINAL_ID;
    static final String DLQ_DELIVERIES = DeadLetterFields.DELIVERIES;
    static final String DLQ_CONSUMER = DeadLetterFields.CONSUMER;

    private static final Logger log = LoggerFactory.getLogger(StreamGroup.class);

    private final LazyRedisConnection redis;
    private final String stream;
    private final String group;
    private final Consumer<String> me;

    StreamGroup(LazyRedisConnection redis, String stream, String group, String consumer) {
        this.redis = redis;
        this.stream = stream;
        this.group = group;
        this.me = Consumer.from(group, consumer);
    }

    String stream() {
        return stream;
    }

    String group() {
        return group;
    }

    /** Creates the group at the start of the stream (and the stream if missing); an existing group is fine. */
    void create() {
        try {
            redis.sync()
                    .xgroupCreate(XReadArgs.StreamOffset.from(stream, "0"), group, XGroupCreateArgs.Builder.mkstream());
            log.info("Created consumer group {} on stream {} at its start", group, stream);
        } catch (RedisBusyException e) {
            log.debug("Consumer group {} on stream {} exists", group, stream);
        } catch (RedisCommandExecutionException e) {
            if (!String.valueOf(e.getMessage()).startsWith("BUSYGROUP")) {
                throw e;
            }
        }
    }

    /**
     * Reads entries never delivered to the group into {@code fill}: XREADGROUP after XREADGROUP, each for as many entries
     * as the batch has room for ({@link BatchBudget.Fill#room()}), until one returns fewer than it asked for or the batch
     * is full. Only the first waits for entries, up to {@code block} (not at all if null); the others follow a read that
     * came back full. Each read is sent when the one before has completed, from Lettuce's callback, so that a batch read
     * ahead fills while the caller applies the one before. Cancelling the returned future stops the reads after the one
     * in flight; the entries already delivered stay pending, to be claimed.
     */
    CompletableFuture<BatchBudget.Batch> readNew(
            RedisAsyncCommands<String, String> reader, BatchBudget.Fill fill, @Nullable Duration block) {
        var batch = new CompletableFuture<BatchBudget.Batch>();
        readNext(reader, fill, block, batch);
        return batch;
    }

    private void readNext(
            RedisAsyncCommands<String, String> reader,
            BatchBudget.Fill fill,
            @Nullable Duration block,
            CompletableFuture<BatchBudget.Batch> batch) {
        int count = fill.room();
        var args = XReadArgs.Builder.count(count);
        if (block != null) {
            args.block(block);
        }
        reader.xreadgroup(me, args, XReadArgs.StreamOffset.lastConsumed(stream)).whenComplete((read, failure) -> {
            if (failure != null) {
                batch.completeExceptionally(
                        failure instanceof CompletionException e && e.getCause() != null ? e.getCause() : failure);
                return;
            }
            try {
                fill.add(read);
                if (read.size() < count) {
                    fill.ranDry();
                }
                if (fill.wantsMore() && !batch.isDone()) {
                    readNext(reader, fill, null, batch);
                } else {
                    batch.complete(fill.batch());
                }
            } catch (RuntimeException e) {
                batch.completeExceptionally(e);
            }
        });
    }

    /** The result of commands sent ahead, waiting at most {@code timeout}; Redis' failures come out unwrapped. */
    static <T> T await(Future<T> future, Duration timeout) {
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RedisCommandInterruptedException(e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException failure ? failure : new RedisException(e.getCause());
        } catch (TimeoutException e) {
            throw new RedisCommandTimeoutException("no answer to a read ahead within " + timeout);
        }
    }

    void ack(List<String> ids) {
        if (!ids.isEmpty()) {
            redis.sync().xack(stream, group, ids.toArray(String[]::new));
        }
    }

    /** This consumer's pending entries from {@code firstId} to {@code lastId}, with their delivery counts. */
    List<PendingMessage> pending(String firstId, String lastId, int count) {
        return redis.sync().xpending(stream, me, Range.create(firstId, lastId), Limit.from(count));
    }

    /** This consumer's own pending entries from {@code fromId} on, with their delivery counts and idle times. */
    List<PendingMessage> ownPending(StreamEntryId fromId, int count) {
        return redis.sync().xpending(stream, XPendingArgs.Builder.xpending(me, from(fromId), Limit.from(count)));
    }

    /**
     * Any consumer's pending entries idle at least {@code minIdle}, from {@code fromId} on, with their delivery counts and
     * idle times: what may be claimed, each entry after its own idle time ({@link DeliveryLimit}), which one
     * {@code XAUTOCLAIM} threshold cannot express.
     */
    List<PendingMessage> idlePending(Duration minIdle, StreamEntryId fromId, int count) {
        return redis.sync()
                .xpending(
                        stream,
                        XPendingArgs.Builder.xpending(group, from(fromId), Limit.from(count))
                                .idle(minIdle));
    }

    /**
     * Takes over the entries still idle at least {@code minIdle} (one someone claimed or read meanwhile is not), which
     * counts a delivery of each, and returns them; entries deleted from the stream meanwhile leave the pending list
     * (Redis 7) and are not returned.
     */
    List<StreamMessage<String, String>> claim(List<String> ids, Duration minIdle) {
        if (ids.isEmpty()) {
            return List.of();
        }
        return redis.sync().xclaim(stream, me, new XClaimArgs().minIdleTime(minIdle), ids.toArray(String[]::new));
    }

    private static Range<String> from(StreamEntryId id) {
        return Range.from(Range.Boundary.including(id.toString()), Range.Boundary.unbounded());
    }

    /**
     * Resets the idle time of entries this consumer is still working on (JUSTID does not count a delivery), so that a
     * batch waiting for the read database is not claimed away and pushed past the delivery limit.
     */
    void touch(List<String> ids) {
        if (!ids.isEmpty()) {
            redis.sync().xclaim(stream, me, new XClaimArgs().minIdleTime(0).justid(), ids.toArray(String[]::new));
        }
    }

    /**
     * Copies an entry to {@code <stream>:dlq}: the original fields plus the {@code dlq_*} fields saying why, which
     * entry, after how many deliveries, and which consumer gave up on it.
     */
    String deadLetter(StreamMessage<String, String> entry, Rejection rejection, long deliveries) {
        var fields = new LinkedHashMap<String, String>();
        if (entry.getBody() != null) {
            fields.putAll(entry.getBody());
        }
        fields.put(DLQ_REASON, rejection.reason());
        fields.put(DLQ_PROBLEM, rejection.problem());
        if (rejection.field() != null) {
            fields.put(DLQ_FIELD, rejection.field());
        }
        fields.put(DLQ_ORIGINAL_ID, entry.getId());
        fields.put(DLQ_DELIVERIES, Long.toString(deliveries));
        fields.put(DLQ_CONSUMER, me.getName());
        return redis.sync().xadd(EventStreams.deadLetterStream(stream), fields);
    }

    /** Whether Redis says the stream or the group is gone. */
    static boolean isNoGroup(Throwable failure) {
        return failure instanceof RedisCommandExecutionException e
                && String.valueOf(e.getMessage()).startsWith("NOGROUP");
    }
}
