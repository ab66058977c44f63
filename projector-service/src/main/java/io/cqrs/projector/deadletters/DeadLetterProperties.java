package io.cqrs.projector.deadletters;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Positive;
import java.time.Duration;
import org.hibernate.validator.constraints.time.DurationMin;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The dead-letter stream's bounds ({@code cqrs.deadletters.*}).
 *
 * @param stream the event stream whose dead letters these are ({@code <stream>:dlq}); follows {@code cqrs.events.stream}
 * @param maxEntries most entries the dead-letter stream keeps; the oldest beyond are dropped
 * @param maxAge oldest entry it keeps; older ones are dropped
 * @param checkInterval how often the bounds are enforced and the gauges refreshed (the stream janitor's period)
 */
@Validated
@ConfigurationProperties("cqrs.deadletters")
record DeadLetterProperties(
        @NotBlank String stream,
        @DefaultValue("100000") @Positive long maxEntries,
        @DefaultValue("14d") @DurationMin(seconds = 1) Duration maxAge,
        @DefaultValue("10s") @DurationMin(millis = 1) Duration checkInterval) {}
