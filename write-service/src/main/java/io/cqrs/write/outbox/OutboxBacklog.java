package io.cqrs.write.outbox;

import io.cqrs.write.outbox.OutboxRepository.Backlog;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.dao.DataAccessException;
import org.springframework.stereotype.Component;

/**
 * How far the outbox is behind, for {@code /stats}, the metrics and {@code /actuator/health}: unpublished rows and the
 * age of the oldest. Read at most once a second however often it is asked.
 */
@Component("outbox")
public class OutboxBacklog implements HealthIndicator {

    private static final Duration FRESH_FOR = Duration.ofSeconds(1);

    private final OutboxRepository outbox;
    private final Clock clock;
    private volatile @Nullable Snapshot last;

    OutboxBacklog(OutboxRepository outbox, Clock clock, MeterRegistry meters) {
        this.outbox = outbox;
        this.clock = clock;
        Gauge.builder("cqrs.outbox.backlog", this, b -> b.current().rows())
                .description("Outbox rows not yet published to the stream")
                .register(meters);
        Gauge.builder("cqrs.outbox.oldest.age", this, b -> b.current().oldestAgeSeconds())
                .description("Age of the oldest unpublished outbox row; 0 when there is none")
                .baseUnit("seconds")
                .register(meters);
    }

    /** @param oldestAgeSeconds age of the oldest unpublished row, 0 when there is none */
    public record Snapshot(long rows, double oldestAgeSeconds, Instant readAt) {}

    public Snapshot current() {
        Snapshot snapshot = last;
        Instant now = clock.instant();
        if (snapshot == null || snapshot.readAt().plus(FRESH_FOR).isBefore(now)) {
            Backlog backlog = outbox.backlog();
            double age = backlog.oldestCreatedAt() == null
                    ? 0
                    : Math.max(
                            0, Duration.between(backlog.oldestCreatedAt(), now).toMillis() / 1000.0);
            snapshot = new Snapshot(backlog.rows(), age, now);
            last = snapshot;
        }
        return snapshot;
    }

    /** Writes keep working while Redis is down, so a backlog is reported, not treated as an outage. */
    @Override
    public Health health() {
        try {
            Snapshot snapshot = current();
            return Health.up()
                    .withDetail("backlog", snapshot.rows())
                    .withDetail("oldest_age_seconds", snapshot.oldestAgeSeconds())
                    .build();
        } catch (DataAccessException e) {
            return Health.unknown().withDetail("error", e.getMessage()).build();
        }
    }
}
