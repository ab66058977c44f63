package io.cqrs.write.outbox;

import io.cqrs.events.RecordEvent;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;
import org.springframework.scheduling.annotation.SchedulingConfigurer;
import org.springframework.scheduling.config.ScheduledTaskRegistrar;
import org.springframework.stereotype.Component;
import org.springframework.transaction.TransactionException;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Publishes what the relay could not: rows left unpublished past {@code sweepDelay} (Redis was down, the process died
 * between commit and publish). Rows are locked {@code FOR UPDATE SKIP LOCKED}, so several instances share the work;
 * a failed row waits with exponential backoff. Also deletes published rows past the retention window.
 */
@Component
class OutboxSweeper implements SchedulingConfigurer {

    private static final Logger log = LoggerFactory.getLogger(OutboxSweeper.class);

    private final OutboxRepository outbox;
    private final OutboxRelay relay;
    private final OutboxProperties properties;
    private final TransactionTemplate transactions;

    OutboxSweeper(
            OutboxRepository outbox, OutboxRelay relay, OutboxProperties properties, TransactionTemplate transactions) {
        this.outbox = outbox;
        this.relay = relay;
        this.properties = properties;
        this.transactions = transactions;
    }

    @Override
    public void configureTasks(ScheduledTaskRegistrar registrar) {
        registrar.addFixedDelayTask(this::sweep, properties.sweepInterval());
        registrar.addFixedDelayTask(this::deleteExpired, properties.cleanupInterval());
    }

    void sweep() {
        try {
            int total = 0;
            int published;
            do {
                Integer sweptNow = transactions.execute(status -> sweepOnce());
                published = sweptNow == null ? 0 : sweptNow;
                total += published;
            } while (published == properties.sweepBatch());
            if (total > 0) {
                log.info("Swept {} events from the outbox to the stream", total);
            }
        } catch (DataAccessException | TransactionException e) {
            // With the database gone, beginning the transaction fails with a TransactionException.
            log.warn("Outbox sweep failed, trying again in {}: {}", properties.sweepInterval(), e.getMessage());
        }
    }

    /** Publishes one batch of due rows; returns how many made it, which is the whole batch only when all did. */
    int sweepOnce() {
        var lock = outbox.lockDue(properties.sweepBatch());
        List<RecordEvent> due = lock.events();
        if (due.isEmpty()) {
            return 0;
        }
        var publication = relay.publish(due, lock.traceparents(), properties.publishTimeout());
        outbox.markPublished(publication.streamIds());
        if (publication.error() != null) {
            List<Long> failed = due.stream()
                    .map(RecordEvent::commandId)
                    .filter(id -> !publication.streamIds().containsKey(id))
                    .toList();
            outbox.markFailed(failed, publication.error(), properties.maxBackoff());
            log.warn("Could not publish {} outbox events, backing off: {}", failed.size(), publication.error());
        }
        return publication.streamIds().size();
    }

    void deleteExpired() {
        try {
            int deleted;
            int total = 0;
            do {
                deleted = outbox.deletePublishedOlderThan(properties.retention(), properties.cleanupBatch());
                total += deleted;
            } while (deleted == properties.cleanupBatch());
            if (total > 0) {
                log.info("Deleted {} published outbox rows older than {}", total, properties.retention());
            }
        } catch (DataAccessException | TransactionException e) {
            log.warn("Outbox cleanup failed, trying again later: {}", e.getMessage());
        }
    }
}
