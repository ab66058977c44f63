package io.cqrs.write.outbox;

import jakarta.validation.constraints.NotBlank;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/** @param stream the Redis stream events go to ({@code EVENT_STREAM_NAME}) */
@Validated
@ConfigurationProperties("cqrs.events")
public record StreamProperties(@NotBlank String stream) {}
