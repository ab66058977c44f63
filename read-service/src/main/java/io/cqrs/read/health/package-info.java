/**
 * What the service reports about the read model and the projection feeding it: honest health (read database, Redis,
 * projection lag) for {@code /health} and actuator readiness, and O(1) totals for {@code /stats}.
 */
@NullMarked
package io.cqrs.read.health;

import org.jspecify.annotations.NullMarked;
