package io.cqrs.write.command;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import java.time.Duration;
import org.hibernate.validator.constraints.time.DurationMin;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * How commands are accepted and grouped.
 *
 * @param maxValueBytes largest value, in UTF-8 bytes ({@code CQRS_MAX_VALUE_BYTES})
 * @param maxBatchCommands most commands in one {@code POST /write/batch}
 * @param maxBodySize largest request body; more is a 413 ({@code CQRS_MAX_BODY_SIZE})
 * @param groupMaxCommands most commands one group-commit transaction takes
 * @param maxQueuedCommands most commands waiting for a transaction; more are refused with 503 and Retry-After
 * @param maxQueuedBytes most memory the commands waiting for a transaction may take (estimated); more is refused alike
 * @param committers transactions in flight at once; two overlap one group's commit with the next one's work
 * @param commitTimeout how long a request waits for its group before it is told to retry
 * @param idempotencyRetention how long an Idempotency-Key is remembered
 */
@Validated
@ConfigurationProperties("cqrs.write")
record WriteProperties(
        @DefaultValue("65536") @Positive int maxValueBytes,

        @DefaultValue("1000") @Positive @Max(BATCH_COMMANDS_CAP)
        int maxBatchCommands,

        @DefaultValue("8MB") @NotNull DataSize maxBodySize,
        @DefaultValue("2000") @Positive int groupMaxCommands,
        @DefaultValue("20000") @Positive int maxQueuedCommands,
        @DefaultValue("64MB") @NotNull DataSize maxQueuedBytes,
        @DefaultValue("2") @Min(1) @Max(16) int committers,
        @DefaultValue("10s") @DurationMin(millis = 1) Duration commitTimeout,
        @DefaultValue("24h") @DurationMin(millis = 1) Duration idempotencyRetention) {

    /** The most {@link #maxBatchCommands} may be; batch bodies are never parsed beyond it ({@link BoundedCommands}). */
    static final int BATCH_COMMANDS_CAP = 10_000;
}
