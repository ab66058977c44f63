package io.cqrs.projector;

import io.cqrs.events.EventCodec;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import org.hibernate.validator.constraints.time.DurationMin;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Where the projector reads ({@code cqrs.events.*}, shared with the other services) and how it consumes
 * ({@code cqrs.projector.*}); every setting has an environment variable in {@code application.properties}, but the
 * command timeout, which follows Boot's {@code spring.data.redis.timeout}, and the highest schema, which only tests
 * lower.
 */
@Validated
@ConfigurationProperties("cqrs")
record ProjectorProperties(
        @Valid @DefaultValue Events events,
        @Valid @DefaultValue Projector projector) {

    /**
     * @param stream the event stream; its dead-letter stream is {@code <stream>:dlq}
     * @param group the projectors' consumer group
     */
    record Events(@NotBlank String stream, @NotBlank String group) {}

    /**
     * @param consumer this instance's name in the group; blank means host name and process id, so that two instances
     *     differ and a restarted process on the same host takes over its own pending entries
     * @param batchSize most entries read, applied and acknowledged together
     * @param batchMaxBytes most heap the entries of one batch may take (estimated, see {@link BatchBudget}); a batch
     *     read ahead and a page of claimed entries have a budget of their own each
     * @param maxValueBytes the write side's largest value in UTF-8 bytes ({@code CQRS_MAX_VALUE_BYTES}), from which
     *     the largest entry, and so how many entries one read may ask for, follows
     * @param pollInterval how long one {@code XREADGROUP} blocks waiting for new entries
     * @param commandTimeout client timeout of short Redis commands; the blocking reader gets the poll interval on top
     * @param claimIdle how long an entry stays unacknowledged before another consumer may claim it
     * @param claimInterval how often to look for such entries
     * @param maxDeliveries deliveries without an acknowledgement after which an entry is suspect: applied alone, and
     *     claimed again only after a backoff that doubles with each further delivery (never dead-lettered for that)
     * @param suspectMaxBackoff the longest idle time a suspect entry waits for before it is claimed again
     * @param trimInterval how often the janitor trims the stream below what every group has finished
     * @param trimWarnAge age of the oldest entry some group still needs above which the janitor warns
     * @param retryBackoff first pause after a failure of Redis or the read database; doubles up to the maximum
     * @param maxSchema the highest event schema this projector applies; newer ones are dead-lettered
     *     ({@code UNKNOWN_SCHEMA}). Never above what {@link EventCodec} reads, so no setting can make the projector accept
     *     what it cannot decode; tests lower it to play a projector that predates the current schema (see
     *     docs/schema-evolution.md). No environment variable: there is nothing to gain from lowering it in production
     */
    record Projector(
            @DefaultValue("") String consumer,
            @DefaultValue("8000") @Positive @Max(10_000) int batchSize,
            @DefaultValue("32MB") @NotNull DataSize batchMaxBytes,
            @DefaultValue("65536") @Positive int maxValueBytes,
            @DefaultValue("1s") @DurationMin(millis = 1) Duration pollInterval,
            @DefaultValue("2s") @DurationMin(millis = 1) Duration commandTimeout,
            @DefaultValue("30s") @DurationMin(millis = 1) Duration claimIdle,
            @DefaultValue("5s") @DurationMin(millis = 1) Duration claimInterval,
            @DefaultValue("5") @Positive int maxDeliveries,
            @DefaultValue("10m") @DurationMin(millis = 1) Duration suspectMaxBackoff,
            @DefaultValue("10s") @DurationMin(millis = 1) Duration trimInterval,
            @DefaultValue("5m") @DurationMin(millis = 0) Duration trimWarnAge,
            @DefaultValue("100ms") @DurationMin(millis = 1) Duration retryBackoff,
            @DefaultValue("5s") @DurationMin(millis = 1) Duration retryMaxBackoff,

            @DefaultValue("" + EventCodec.SCHEMA) @Min(0) @Max(EventCodec.SCHEMA)
            int maxSchema) {

        Projector {
            if (batchMaxBytes.toBytes() < 1) {
                throw new IllegalArgumentException(
                        "cqrs.projector.batch-max-bytes must be positive, was " + batchMaxBytes);
            }
            if (consumer.isBlank()) {
                consumer = hostName() + "-" + ProcessHandle.current().pid();
            }
        }

        /** The same settings for a consumer of another name: a second instance in one process, as tests run it. */
        Projector withConsumer(String name) {
            return new Projector(
                    name,
                    batchSize,
                    batchMaxBytes,
                    maxValueBytes,
                    pollInterval,
                    commandTimeout,
                    claimIdle,
                    claimInterval,
                    maxDeliveries,
                    suspectMaxBackoff,
                    trimInterval,
                    trimWarnAge,
                    retryBackoff,
                    retryMaxBackoff,
                    maxSchema);
        }

        private static String hostName() {
            String fromEnvironment = System.getenv("HOSTNAME");
            if (fromEnvironment != null && !fromEnvironment.isBlank()) {
                return fromEnvironment;
            }
            try {
                return InetAddress.getLocalHost().getHostName();
            } catch (UnknownHostException e) {
                return "projector";
            }
        }
    }
}
