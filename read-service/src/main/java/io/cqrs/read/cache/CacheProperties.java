package io.cqrs.read.cache;

import jakarta.validation.constraints.Positive;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The near cache.
 *
 * @param enabled false sends every read to the database
 * @param maxEntries bound on cached keys; Caffeine's admission policy keeps the frequently read ones
 */
@Validated
@ConfigurationProperties("cqrs.read.cache")
public record CacheProperties(
        @DefaultValue("true") boolean enabled,
        @DefaultValue("100000") @Positive long maxEntries) {}
