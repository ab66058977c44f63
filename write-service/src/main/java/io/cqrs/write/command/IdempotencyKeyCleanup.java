package io.cqrs.write.command;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;
import org.springframework.transaction.TransactionException;

/** Forgets Idempotency-Keys past their retention window, in bounded batches. */
@Component
class IdempotencyKeyCleanup {

    private static final Logger log = LoggerFactory.getLogger(IdempotencyKeyCleanup.class);
    private static final int BATCH = 10_000;

    private final CommandRepository commands;
    private final WriteProperties properties;

    IdempotencyKeyCleanup(CommandRepository commands, WriteProperties properties) {
        this.commands = commands;
        this.properties = properties;
    }

    @Scheduled(fixedDelayString = "${cqrs.outbox.cleanup-interval:1m}")
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
