package io.cqrs.read.readcount;

import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import java.time.Duration;
import org.hibernate.validator.constraints.time.DurationMin;
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
        @DefaultValue("1s") @NotNull @DurationMin(millis = 1)
        Duration flushInterval,

        @DefaultValue("3") @Positive int shutdownAttempts,
        @DefaultValue("100000") @Positive int maxKeys) {}
