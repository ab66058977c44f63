package io.cqrs.db;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * When a service vacuums and analyzes the tables it owns ({@link TableUpkeep}).
 *
 * @param mode {@code auto}: only while the server's autovacuum is off; {@code always}; {@code off}
 * @param interval how often the tables' statistics are looked at
 * @param analyzeInterval the least time between two analyses of a table (autovacuum's own pace: its naptime is a
 *     minute); a vacuum due sooner goes without one
 * @param minDeadRows dead rows a table may hold before it is vacuumed, whatever its size
 * @param deadFraction and, beyond those, this fraction of its live rows
 */
@ConfigurationProperties("cqrs.db.upkeep")
public record UpkeepProperties(
        @DefaultValue("auto") Mode mode,
        @DefaultValue("10s") Duration interval,
        @DefaultValue("60s") Duration analyzeInterval,
        @DefaultValue("2000") long minDeadRows,
        @DefaultValue("0.1") double deadFraction) {

    public UpkeepProperties {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("cqrs.db.upkeep.interval must be positive, was " + interval);
        }
        if (analyzeInterval.isNegative()) {
            throw new IllegalArgumentException(
                    "cqrs.db.upkeep.analyze-interval must not be negative, was " + analyzeInterval);
        }
        if (minDeadRows < 0 || deadFraction < 0) {
            throw new IllegalArgumentException("cqrs.db.upkeep.min-dead-rows and dead-fraction must not be negative");
        }
    }

    public enum Mode {
        AUTO,
        ALWAYS,
        OFF
    }
}
