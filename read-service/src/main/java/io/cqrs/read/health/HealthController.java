package io.cqrs.read.health;

import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /health}: 200 when UP or DEGRADED, 503 when DOWN. */
@RestController
class HealthController {

    private final ReadHealthCheck health;

    HealthController(ReadHealthCheck health) {
        this.health = health;
    }

    @GetMapping("/health")
    ResponseEntity<ReadHealth> health() {
        ReadHealth health = this.health.check();
        return ResponseEntity.status(health.isDown() ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.OK)
                .body(health);
    }
}
