package io.cqrs.read.query;

import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import java.time.Duration;
import org.hibernate.validator.constraints.time.DurationMin;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Read-your-writes waits ({@code ?min_version=N&wait_ms=M}).
 *
 * @param defaultWait how long to wait when {@code wait_ms} is not given
 * @param maxWait longer {@code wait_ms} values are cut to this
 * @param retryAfter sent as {@code Retry-After} (whole seconds, at least 1) when the wait runs out, or when
 *     {@code maxWaiters} reads wait already
 * @param maxWaiters most reads waiting at once; each holds a connection and a thread for up to {@code maxWait}
 */
@Validated
@ConfigurationProperties("cqrs.read.wait")
record WaitProperties(
        @DefaultValue("1000ms") @NotNull @DurationMin(millis = 0)
        Duration defaultWait,

        @DefaultValue("10s") @NotNull @DurationMin(millis = 0)
        Duration maxWait,

        @DefaultValue("1s") @NotNull @DurationMin(millis = 0)
        Duration retryAfter,

        @DefaultValue("512") @Positive int maxWaiters) {

    @AssertTrue(message = "default-wait must not be longer than max-wait")
    boolean isDefaultWaitWithinMaxWait() {
        return defaultWait == null || maxWait == null || defaultWait.compareTo(maxWait) <= 0;
    }

    Duration capped(Duration requested) {
        return requested.compareTo(maxWait) > 0 ? maxWait : requested;
    }

    long retryAfterSeconds() {
        return Math.max(1, (retryAfter.toMillis() + 999) / 1000);
    }
}
