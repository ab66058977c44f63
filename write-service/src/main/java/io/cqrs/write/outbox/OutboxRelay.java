package io.cqrs.write.outbox;

import io.cqrs.events.EventCodec;
import io.cqrs.events.RecordEvent;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.RedisConnections;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisFuture;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;

/**
 * Puts committed commands' events on the stream, for {@link CommittedPublisher} right after commit and for
 * {@link OutboxSweeper} later: one pipelined batch of XADDs, on a connection of its own. Never part of a database
 * transaction: what does not make it stays in the outbox.
 *
 * <p>The connection does not flush each command as it is queued: a batch goes out in one write, so Redis reads it in
 * one go too, instead of one system call per event on either side. Only this class uses the connection, only through
 * the asynchronous API, and every batch ends with a flush, whoever else's commands it carries along.
 */
@Component
class OutboxRelay implements DisposableBean {

    private final String stream;
    private final Counter published;
    private final Counter failures;
    private final LazyRedisConnection connection;

    OutboxRelay(RedisConnections redis, StreamProperties stream, MeterRegistry meters) {
        this.connection = redis.lazy();
        this.stream = stream.stream();
        this.published = Counter.builder("cqrs.outbox.published")
                .description("Events published to the stream")
                .register(meters);
        this.failures = Counter.builder("cqrs.outbox.publish.failures")
                .description("Events whose publication failed and was left to the sweeper")
                .register(meters);
    }

    /**
     * XADDs every event without waiting in between, then waits for all replies up to {@code timeout}.
     *
     * @param traceparents command id → the trace context to carry beside its event, for traced requests only
     */
    Publication publish(List<RecordEvent> events, Map<Long, String> traceparents, Duration timeout) {
        var futures = new ArrayList<RedisFuture<String>>(events.size());
        String error = null;
        try {
            var redis = connection.get();
            redis.setAutoFlushCommands(false); // again on every batch: the connection may be a new one
            try {
                var commands = redis.async();
                for (RecordEvent event : events) {
                    // Untraced (the rule): no lookup, so no boxed command id.
                    String traceparent = traceparents.isEmpty() ? null : traceparents.get(event.commandId());
                    futures.add(commands.xadd(stream, EventCodec.encode(event, traceparent)));
                }
            } finally {
                redis.flushCommands();
            }
            LettuceFutures.awaitAll(timeout, futures.toArray(Future[]::new));
        } catch (RuntimeException e) {
            // Connecting failed, or a reply failed or timed out: what did make it is collected below.
            error = String.valueOf(e.getMessage());
        }
        Map<Long, String> streamIds = new HashMap<>();
        for (int i = 0; i < futures.size(); i++) {
            var future = futures.get(i);
            if (future.isDone() && !future.toCompletableFuture().isCompletedExceptionally()) {
                streamIds.put(events.get(i).commandId(), join(future));
            } else if (error == null) {
                error = future.isDone() ? cause(future) : "no reply within " + timeout.toMillis() + " ms";
            }
        }
        published.increment(streamIds.size());
        failures.increment(events.size() - streamIds.size());
        return new Publication(streamIds, error);
    }

    /** @param error why some events were not published, or null when all were */
    record Publication(
            Map<Long, String> streamIds, @Nullable String error) {}

    private static String join(RedisFuture<String> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String cause(RedisFuture<String> future) {
        try {
            future.get();
            return "unknown";
        } catch (ExecutionException e) {
            return String.valueOf(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    @Override
    public void destroy() {
        connection.close();
    }
}
