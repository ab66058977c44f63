package io.cqrs.read.changes;

import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.hibernate.validator.constraints.time.DurationMin;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The connection that listens for the projector's commit notifications.
 *
 * @param pollInterval how long one wait for notifications blocks before the loop looks around (stop, ping)
 * @param pingInterval after this long without a notification the connection is checked with a query, so that a
 *     silently dead connection is noticed and the cache bypassed
 * @param reconnectMin first pause before reconnecting after the connection was lost; doubles up to reconnectMax
 * @param heartbeat on a standby, how often the listener reads the primary's WAL position even without notifications,
 *     which times the replication lag (see {@link ReplayFence})
 * @param maxHeldChanges on a standby, most changes (and positions) held while they wait for its replay; beyond, they
 *     are dropped and the cache is bypassed until the standby has caught up
 */
@Validated
@ConfigurationProperties("cqrs.read.listener")
record ListenerProperties(
        @DefaultValue("500ms") @NotNull @DurationMin(millis = 1)
        Duration pollInterval,

        @DefaultValue("5s") @NotNull @DurationMin(millis = 1)
        Duration pingInterval,

        @DefaultValue("100ms") @NotNull @DurationMin(millis = 1)
        Duration reconnectMin,

        @DefaultValue("5s") @NotNull @DurationMin(millis = 1)
        Duration reconnectMax,

        @DefaultValue("") @NotNull String primaryUrl,

        @DefaultValue("500ms") @NotNull @DurationMin(millis = 10)
        Duration heartbeat,

        @DefaultValue("20000") @Min(1) int maxHeldChanges) {

    @AssertTrue(message = "reconnect-min must not be longer than reconnect-max")
    boolean isReconnectMinWithinMax() {
        return reconnectMin == null || reconnectMax == null || reconnectMin.compareTo(reconnectMax) <= 0;
    }
}
