package io.cqrs.read.health;

import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.hibernate.validator.constraints.time.DurationMin;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Health semantics.
 *
 * @param lagThreshold projection lag (and standby replay lag) above which the service reports DEGRADED
 * @param replicationMaxLag on a streaming standby, replication lag (or how long it has been unknown) beyond which the
 *     instance leaves readiness, so that a load balancer sends reads elsewhere
 * @param timeout how long one check may wait for the read database or Redis before calling it down; also the stream
 *     probe's command timeout, and Redis' connect timeout ({@code spring.data.redis.connect-timeout} refers to it)
 */
@Validated
@ConfigurationProperties("cqrs.health")
record HealthProperties(
        @DefaultValue("5s") @NotNull @DurationMin(millis = 0)
        Duration lagThreshold,

        @DefaultValue("1s") @NotNull @DurationMin(millis = 1)
        Duration timeout,

        @DefaultValue("30s") @NotNull @DurationMin(millis = 0)
        Duration replicationMaxLag) {}
