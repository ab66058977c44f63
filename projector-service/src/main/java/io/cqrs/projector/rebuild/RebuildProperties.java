package io.cqrs.projector.rebuild;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Positive;
import java.time.Duration;
import org.hibernate.validator.constraints.time.DurationMin;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * How the projector rebuilds the read model ({@code cqrs.rebuild.*}, see projector-service/README.md, "Rebuilding the
 * read model").
 *
 * @param writeDbUrl the write database, read only, and only while a rebuild runs
 * @param writeDbUser the rebuild's own login there, which may select from key_state, commands and outbox
 * @param writeDbPassword its password
 * @param keysPerSecond the copy's rate when a start does not ask for another: it protects the live traffic of both
 *     databases
 * @param pageKeys keys per page of the copy and per range of the verification
 * @param settle how long a key changed in the write database may take to reach the read model: a difference on such
 *     a key is in flight (copied again, not counted)
 * @param verifyRounds verification passes before a rebuild whose shadow still differs fails instead of switching
 * @param heartbeatTimeout how old the running rebuild's heartbeat may get before another instance fails it and cleans
 *     up (its instance is taken for dead)
 * @param progressLogInterval how often the running rebuild logs its progress
 */
@Validated
@ConfigurationProperties("cqrs.rebuild")
record RebuildProperties(
        @DefaultValue("jdbc:postgresql://127.0.0.1:5432/cqrs_write") @NotBlank
        String writeDbUrl,

        @DefaultValue("postgres") @NotBlank String writeDbUser,
        @DefaultValue("") String writeDbPassword,

        @DefaultValue("20000") @Positive @Max(MAX_KEYS_PER_SECOND)
        int keysPerSecond,

        @DefaultValue("1000") @Positive @Max(10_000) int pageKeys,
        @DefaultValue("5s") @DurationMin(millis = 0) Duration settle,
        @DefaultValue("3") @Positive @Max(20) int verifyRounds,
        @DefaultValue("30s") @DurationMin(seconds = 5) Duration heartbeatTimeout,
        @DefaultValue("5s") @DurationMin(millis = 100) Duration progressLogInterval) {

    /** The highest rate a start may ask for. */
    static final int MAX_KEYS_PER_SECOND = 1_000_000;

    /** How often the running rebuild's instance says it is alive: a few times within the timeout. */
    Duration heartbeatInterval() {
        return heartbeatTimeout.dividedBy(10);
    }
}
