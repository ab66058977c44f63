package io.cqrs.write.outbox;

import io.cqrs.events.EventCodec;
import io.cqrs.events.RecordEvent;
import io.cqrs.stream.LazyRedisConnection;
import io.cqrs.stream.RedisConnections;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.data.redis.autoconfigure.DataRedisProperties;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Publishes committed commands' events to the stream: one pipelined batch of XADDs per group, on a connection of its
 * own. Never part of a database transaction: what does not make it stays in the outbox for {@link OutboxSweeper}.
 */
@Component
public class OutboxRelay implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(OutboxRelay.class);

    private final String stream;
    private final OutboxProperties properties;
    private final OutboxRepository outbox;
    private final TransactionTemplate transactions;
    private final Counter published;
    private final Counter failures;
    private final LazyRedisConnection connection;
    private volatile long pausedUntilNanos = System.nanoTime();

    OutboxRelay(
            RedisConnections redis,
            DataRedisProperties redisProperties,
            StreamProperties stream,
            OutboxProperties properties,
            OutboxRepository outbox,
            TransactionTemplate transactions,
            MeterRegistry meters) {
        this.transactions = transactions;
        this.connection =
                redis.lazy(Objects.requireNonNullElse(redisProperties.getTimeout(), RedisURI.DEFAULT_TIMEOUT_DURATION));
        this.stream = stream.stream();
        this.properties = properties;
        this.outbox = outbox;
        this.published = Counter.builder("cqrs.outbox.published")
                .description("Events published to the stream")
                .register(meters);
        this.failures = Counter.builder("cqrs.outbox.publish.failures")
                .description("Events whose publication failed and was left to the sweeper")
                .register(meters);
    }

    /**
     * How long the outbox rows of a freshly committed group are left to this relay before the sweeper may take them
     * (the group's own statement writes them, see {@code CommandRepository.store}).
     */
    public Duration headStart() {
        return properties.sweepDelay();
    }

    /**
     * Publishes right away unless Redis failed a moment ago; returns command id → stream entry id for the events Redis
     * acknowledged within the publish timeout. The rest stay queued.
     */
    public Map<Long, String> publishNow(List<RecordEvent> events) {
        if (events.isEmpty() || System.nanoTime() < pausedUntilNanos) {
            return Map.of();
        }
        Publication publication = publish(events, properties.publishTimeout());
        if (publication.error() != null) {
            pausedUntilNanos =
                    System.nanoTime() + properties.pauseAfterFailure().toNanos();
            log.warn(
                    "Could not publish {} of {} events, leaving them to the sweeper: {}",
                    events.size() - publication.streamIds().size(),
                    events.size(),
                    publication.error());
        }
        return publication.streamIds();
    }

    /** Records in the outbox that these events reached the stream. */
    public void confirm(Map<Long, String> streamIds) {
        if (streamIds.isEmpty()) {
            return;
        }
        transactions.executeWithoutResult(status -> {
            outbox.relaxDurability();
            outbox.markPublished(streamIds);
        });
    }

    /** XADDs every event without waiting in between, then waits for all replies up to {@code timeout}. */
    Publication publish(List<RecordEvent> events, Duration timeout) {
        var futures = new ArrayList<RedisFuture<String>>(events.size());
        String error = null;
        try {
            var commands = connection.async();
            for (RecordEvent event : events) {
                futures.add(commands.xadd(stream, EventCodec.encode(event)));
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
