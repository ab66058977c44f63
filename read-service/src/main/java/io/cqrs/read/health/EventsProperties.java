package io.cqrs.read.health;

import jakarta.validation.constraints.NotBlank;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * The event stream the projector consumes, as the read service observes it.
 *
 * @param stream the stream ({@code EVENT_STREAM_NAME})
 * @param group the projectors' consumer group whose lag is reported ({@code EVENT_CONSUMER_GROUP})
 */
@Validated
@ConfigurationProperties("cqrs.events")
record EventsProperties(@NotBlank String stream, @NotBlank String group) {}
