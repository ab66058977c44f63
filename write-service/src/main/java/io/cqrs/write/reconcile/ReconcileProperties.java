package io.cqrs.write.reconcile;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Positive;
import java.time.Duration;
import org.hibernate.validator.constraints.time.DurationMin;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The continuous reconciliation of the read model against this service's database ({@link Reconciler}).
 *
 * @param enabled whether this instance takes part in reconciliation at all
 * @param readDbUrl JDBC URL of the read model's database; only read ({@code records}), so a read-only role will do
 * @param rangeKeys keys per range whose summaries are compared; a range that differs is compared key by key
 * @param keysPerSecond the most keys a pass goes through per second, so that it never competes with the traffic
 * @param passInterval pause between the end of a pass and the start of the next
 * @param settle margin added to the projection lag: a key written more recently than lag plus margin is in flight,
 *     not diverged
 * @param recheckInterval how often known divergences are compared again (repaired ones leave the list, and the
 *     status the read service reports is refreshed)
 */
@Validated
@ConfigurationProperties("cqrs.reconcile")
record ReconcileProperties(
        @DefaultValue("true") boolean enabled,

        @DefaultValue("jdbc:postgresql://127.0.0.1:5432/cqrs_read") @NotBlank
        String readDbUrl,

        @DefaultValue("postgres") String readDbUser,
        @DefaultValue("") String readDbPassword,
        @DefaultValue("1000") @Positive int rangeKeys,
        @DefaultValue("50000") @Positive int keysPerSecond,
        @DefaultValue("30s") @DurationMin(millis = 0) Duration passInterval,
        @DefaultValue("5s") @DurationMin(millis = 0) Duration settle,
        @DefaultValue("2s") @DurationMin(millis = 1) Duration recheckInterval) {

    /** How long one range's step should take at most, so that a pass keeps to {@link #keysPerSecond}. */
    Duration stepInterval() {
        return Duration.ofNanos(1_000_000_000L * rangeKeys / keysPerSecond);
    }
}
