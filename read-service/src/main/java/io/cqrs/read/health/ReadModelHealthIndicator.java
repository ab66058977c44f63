package io.cqrs.read.health;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/**
 * The same check as {@code GET /health}, as the actuator's {@code readModel} component, included in the readiness
 * group: DOWN takes the instance out of rotation, DEGRADED (mapped to 200) keeps it serving.
 */
@Component("readModel")
class ReadModelHealthIndicator implements HealthIndicator {

    private final ReadHealthCheck check;

    ReadModelHealthIndicator(ReadHealthCheck check) {
        this.check = check;
    }

    @Override
    public Health health() {
        ReadHealth health = check.check();
        var builder = Health.status(health.status())
                .withDetail("read_db", health.readDb())
                .withDetail("redis", health.redis())
                .withDetail("projection", health.projection());
        if (health.replication() != null) {
            builder.withDetail("replication", health.replication());
        }
        return builder.build();
    }
}
