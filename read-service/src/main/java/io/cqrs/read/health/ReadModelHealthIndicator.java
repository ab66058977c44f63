package io.cqrs.read.health;

import java.util.Map;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.stereotype.Component;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * The same check as {@code GET /health}, as the actuator's {@code readModel} component, included in the readiness
 * group: DOWN takes the instance out of rotation, DEGRADED (mapped to 200) keeps it serving, and a standby whose
 * replication lag is beyond {@code cqrs.health.replication-max-lag} is OUT_OF_SERVICE (503): out of rotation.
 *
 * <p>The actuator writes JSON with a mapper of its own, which does not know the application's snake_case naming: the
 * details are converted with the application's mapper first, so they read as in {@code GET /health}.
 */
@Component("readModel")
class ReadModelHealthIndicator implements HealthIndicator {

    private static final TypeReference<Map<String, Object>> DETAILS = new TypeReference<>() {};

    private final ReadHealthCheck check;
    private final JsonMapper json;

    ReadModelHealthIndicator(ReadHealthCheck check, JsonMapper json) {
        this.check = check;
        this.json = json;
    }

    @Override
    public Health health() {
        ReadHealth health = check.check();
        Map<String, Object> details = json.convertValue(health, DETAILS);
        details.remove("status");
        // A standby too far behind (or unheard of for as long) still answers, but should not be sent reads.
        boolean behind = health.replication() != null && !health.replication().ready();
        return Health.status(behind && !health.isDown() ? Status.OUT_OF_SERVICE.getCode() : health.status())
                .withDetails(details)
                .build();
    }
}
