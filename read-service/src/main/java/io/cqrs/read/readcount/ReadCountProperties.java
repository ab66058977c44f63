package io.cqrs.read.readcount;

import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Read counting.
 *
 * @param flushInterval pause between flushes of buffered read counts: how far stored counts may lag behind
 * @param shutdownAttempts flushes tried on graceful shutdown before buffered counts are given up (and logged)
 * @param maxKeys keys whose counts stay in memory between reads; beyond it, keys idle for a few flushes are forgotten
 *     and their next read asks the database for the stored count. Size it like the near cache.
 */
@Validated
@ConfigurationProperties("cqrs.read.count")
record ReadCountProperties(
        @DefaultValue("1s") @NotNull Duration flushInterval,
        @DefaultValue("3") int shutdownAttempts,
        @DefaultValue("100000") int maxKeys) {

    ReadCountProperties {
        if (flushInterval.isNegative() || flushInterval.isZero()) {
            throw new IllegalArgumentException("cqrs.read.count.flush-interval must be positive, was " + flushInterval);
        }
        if (shutdownAttempts < 1) {
            throw new IllegalArgumentException(
                    "cqrs.read.count.shutdown-attempts must be at least 1, was " + shutdownAttempts);
        }
        if (maxKeys < 1) {
            throw new IllegalArgumentException("cqrs.read.count.max-keys must be at least 1, was " + maxKeys);
        }
    }
}
