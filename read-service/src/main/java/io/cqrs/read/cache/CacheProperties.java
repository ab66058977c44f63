package io.cqrs.read.cache;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * The near cache.
 *
 * @param enabled false sends every read to the database
 * @param maxSize bound on the memory the cached keys and values take (estimated: two bytes per character plus a fixed
 *     overhead per entry); Caffeine's admission policy keeps the frequently read ones. In bytes, not entries: a bound
 *     in entries let 100,000 reads of distinct 7 KB keys (absent ones are cached too) fill a 256 MB heap
 * @param warmUp whether the cache is filled with the most read records as soon as it comes into use (at start, and when
 *     the commit notifications are back after a loss), instead of key by key as they are read
 */
@Validated
@ConfigurationProperties("cqrs.read.cache")
public record CacheProperties(
        @DefaultValue("true") boolean enabled,
        @DefaultValue("32MB") DataSize maxSize,
        @DefaultValue("true") boolean warmUp) {}
