package io.cqrs.write.outbox;

import jakarta.validation.constraints.Positive;
import java.time.Duration;
import org.hibernate.validator.constraints.time.DurationMin;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * How committed events travel to the stream.
 *
 * @param publishTimeout how long a request waits for its events' XADD before answering "queued"
 * @param pauseAfterFailure after a failed publish, how long requests skip publishing and leave it to the sweeper
 * @param sweepInterval how often the sweeper looks for unpublished rows
 * @param sweepDelay how old an unpublished row must be before the sweeper takes it from the relay
 * @param sweepBatch rows per sweeper transaction
 * @param maxBackoff longest wait between two attempts at one row
 * @param retention how long published rows are kept for replay
 * @param cleanupInterval how often published rows and Idempotency-Keys past their retention are deleted
 * @param cleanupBatch rows deleted per cleanup statement
 * @param lossCheckInterval how often the stream is checked for lost or rolled-back data and a mark is set
 *     ({@link StreamLossDetector})
 * @param replayBatch rows marked for republication per transaction when replaying after a loss
 */
@Validated
@ConfigurationProperties("cqrs.outbox")
public record OutboxProperties(
        @DefaultValue("1s") @DurationMin(millis = 1) Duration publishTimeout,
        @DefaultValue("1s") @DurationMin(millis = 0) Duration pauseAfterFailure,
        @DefaultValue("1s") @DurationMin(millis = 1) Duration sweepInterval,
        @DefaultValue("2s") @DurationMin(millis = 0) Duration sweepDelay,
        @DefaultValue("1000") @Positive int sweepBatch,
        @DefaultValue("60s") @DurationMin(millis = 1) Duration maxBackoff,
        @DefaultValue("24h") @DurationMin(millis = 1) Duration retention,
        @DefaultValue("1m") @DurationMin(millis = 1) Duration cleanupInterval,
        @DefaultValue("10000") @Positive int cleanupBatch,
        @DefaultValue("1s") @DurationMin(millis = 1) Duration lossCheckInterval,
        @DefaultValue("10000") @Positive int replayBatch) {}
