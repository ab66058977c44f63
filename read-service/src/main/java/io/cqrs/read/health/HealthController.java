package io.cqrs.read.health;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /health}: 200 when UP or DEGRADED, 503 when DOWN. */
@RestController
@Tag(name = "health")
class HealthController {

    private final ReadHealthCheck health;

    HealthController(ReadHealthCheck health) {
        this.health = health;
    }

    @GetMapping("/health")
    @Operation(
            summary = "The read side's health, without a key",
            description = "Projection lag, the read database and Redis; holds no data.")
    @ApiResponse(
            responseCode = "200",
            description = "UP, or DEGRADED (projection lag over the threshold, Redis not answering...; `reasons` says"
                    + " why): still serving")
    @ApiResponse(
            responseCode = "503",
            description = "DOWN: the read database does not answer",
            content = @Content(schema = @Schema(implementation = ReadHealth.class)))
    ResponseEntity<ReadHealth> health() {
        ReadHealth health = this.health.check();
        return ResponseEntity.status(health.isDown() ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.OK)
                .body(health);
    }
}
