package io.cqrs.read.readcount;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.SmartLifecycle;
import org.springframework.dao.DataAccessException;
import org.springframework.scheduling.annotation.SchedulingConfigurer;
import org.springframework.scheduling.config.ScheduledTaskRegistrar;
import org.springframework.stereotype.Component;

/**
 * Stores buffered read counts every {@code flush-interval} (a fixed-delay task on the application's scheduler), and
 * once more on shutdown.
 *
 * <p>The scheduler cancels its tasks as soon as the context starts closing, while the web server may still be draining
 * requests that count reads. So the last flush is this bean's own: it stops in a phase after the web server has stopped
 * (so no read is counted after it) and before the context destroys the DataSource (lifecycle beans stop before any
 * bean is destroyed). A lock keeps it from overlapping a scheduled flush still running: a flush takes every pending
 * count, and there may be only one taker at a time.
 */
@Component
class ReadCountFlusher implements SchedulingConfigurer, SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(ReadCountFlusher.class);

    private final ReadCounter counter;
    private final ReadCountRepository repository;
    private final ReadCountProperties properties;
    private final Counter flushed;
    private final Counter failures;
    private final ReentrantLock flushing = new ReentrantLock();
    private volatile boolean running;

    ReadCountFlusher(
            ReadCounter counter, ReadCountRepository repository, ReadCountProperties properties, MeterRegistry meters) {
        this.counter = counter;
        this.repository = repository;
        this.properties = properties;
        this.flushed = Counter.builder("cqrs.read.count.flushed.reads")
                .description("Reads whose counts were stored by a flush")
                .register(meters);
        this.failures = Counter.builder("cqrs.read.count.flush.failures")
                .description("Flushes of buffered read counts that failed and were retried")
                .register(meters);
        Gauge.builder("cqrs.read.count.flush.lag", counter, ReadCounter::flushLagSeconds)
                .description("Age of the oldest read not yet stored in the read database")
                .baseUnit("seconds")
                .register(meters);
        Gauge.builder("cqrs.read.count.unflushed.reads", counter, ReadCounter::unflushed)
                .description("Reads counted in memory and not yet stored")
                .register(meters);
    }

    @Override
    public void configureTasks(ScheduledTaskRegistrar registrar) {
        registrar.addFixedDelayTask(this::flushQuietly, properties.flushInterval());
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        running = false;
        for (int attempt = 1; attempt <= properties.shutdownAttempts(); attempt++) {
            if (flush() && counter.unflushed() == 0) {
                log.info("Flushed all read counts on shutdown");
                return;
            }
        }
        log.error("Giving up {} read counts on shutdown: the read database did not take them", counter.unflushed());
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return WebServerApplicationContext.START_STOP_LIFECYCLE_PHASE - 1024;
    }

    private void flushQuietly() {
        try {
            flush();
        } catch (RuntimeException e) {
            log.error("Unexpected failure flushing read counts; will retry", e);
        }
    }

    /** Stores what is buffered; true when it got stored (or there was nothing), false when it went back to wait. */
    private boolean flush() {
        flushing.lock();
        try {
            return flushTaken(counter.take());
        } finally {
            flushing.unlock();
        }
    }

    private boolean flushTaken(ReadCounter.Batch batch) {
        if (batch.isEmpty()) {
            counter.committed(batch, Map.of());
            counter.retireIdle();
            return true;
        }
        try {
            Map<String, Long> storedAfter = repository.add(batch);
            counter.committed(batch, storedAfter);
            flushed.increment(batch.total());
            log.debug(
                    "Flushed {} reads over {} keys", batch.total(), batch.keys().size());
            return true;
        } catch (DataAccessException e) {
            counter.failed(batch);
            failures.increment();
            log.warn(
                    "Could not flush {} reads over {} keys ({}); keeping them for the next flush",
                    batch.total(),
                    batch.keys().size(),
                    e.getMostSpecificCause().getMessage());
            return false;
        } finally {
            counter.retireIdle();
        }
    }
}
