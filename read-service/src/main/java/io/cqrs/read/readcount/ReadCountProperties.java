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
 */
@Validated
@ConfigurationProperties("cqrs.read.count")
record ReadCountProperties(
        @DefaultValue("1s") @NotNull Duration flushInterval,
        @DefaultValue("3") int shutdownAttempts) {

    ReadCountProperties {
        if (flushInterval.isNegative() || flushInterval.isZero()) {
            throw new IllegalArgumentException("cqrs.read.count.flush-interval must be positive, was " + flushInterval);
        }
        if (shutdownAttempts < 1) {
            throw new IllegalArgumentException(
                    "cqrs.read.count.shutdown-attempts must be at least 1, was " + shutdownAttempts);
        }
    }
}
