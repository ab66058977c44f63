/** Honest health: read database, Redis and projection lag, for /health and actuator readiness. */
@NullMarked
package io.cqrs.read.health;

import org.jspecify.annotations.NullMarked;
