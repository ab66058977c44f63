package io.cqrs.apikeys;

import jakarta.validation.Valid;
import jakarta.validation.constraints.PositiveOrZero;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * {@code cqrs.security.*}: the API keys ({@code CQRS_API_KEYS}, see {@link ApiKeys#parse}) and each key's rate
 * limit.
 *
 * @param apiKeys the keys; none means every API request is refused (401), which the service warns about at start
 * @param rateLimit requests per second each key may make on average, and the burst above that average
 */
@ConfigurationProperties("cqrs.security")
@Validated
record SecurityProperties(
        @DefaultValue("") String apiKeys,
        @DefaultValue @Valid RateLimit rateLimit) {

    /**
     * @param perSecond the refill rate of each key's bucket; 0 turns the limit off
     * @param burst the bucket's size: requests a key may make at once after a quiet while (at least one second's worth)
     */
    record RateLimit(
            @DefaultValue("10000") @PositiveOrZero int perSecond,
            @DefaultValue("20000") @PositiveOrZero int burst) {

        boolean enabled() {
            return perSecond > 0;
        }

        int capacity() {
            return Math.max(burst, perSecond);
        }
    }
}
