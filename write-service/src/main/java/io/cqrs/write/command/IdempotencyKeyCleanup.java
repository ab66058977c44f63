package io.cqrs.write.command;

import io.cqrs.write.outbox.OutboxProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;
import org.springframework.scheduling.annotation.SchedulingConfigurer;
import org.springframework.scheduling.config.ScheduledTaskRegistrar;
import org.springframework.stereotype.Component;
import org.springframework.transaction.TransactionException;

/**
 * Forgets Idempotency-Keys past their retention window, in bounded batches, as often as the outbox deletes its expired
 * rows ({@code cqrs.outbox.cleanup-interval}).
 */
@Component
class IdempotencyKeyCleanup implements SchedulingConfigurer {

    private static final Logger log = LoggerFactory.getLogger(IdempotencyKeyCleanup.class);
    private static final int BATCH = 10_000;

    private final CommandRepository commands;
    private final WriteProperties properties;
    private final OutboxProperties outbox;

    IdempotencyKeyCleanup(CommandRepository commands, WriteProperties properties, OutboxProperties outbox) {
        this.commands = commands;
        this.properties = properties;
        this.outbox = outbox;
    }

    @Override
    public void configureTasks(ScheduledTaskRegistrar registrar) {
        registrar.addFixedDelayTask(this::deleteExpired, outbox.cleanupInterval());
    }

    void deleteExpired() {
        try {
            int deleted;
            int total = 0;
            do {
                deleted = commands.deleteIdempotencyKeysOlderThan(properties.idempotencyRetention(), BATCH);
                total += deleted;
            } while (deleted == BATCH);
            if (total > 0) {
                log.info("Forgot {} Idempotency-Keys older than {}", total, properties.idempotencyRetention());
            }
        } catch (DataAccessException | TransactionException e) {
            log.warn("Idempotency-Key cleanup failed, trying again later: {}", e.getMessage());
        }
    }
}
