/**
 * The write service's HTTP side and its one feature: validate each command request, group concurrent ones into one
 * transaction, answer with versions; {@code /stats}, the problem bodies and the request limits of every endpoint.
 */
@NullMarked
package io.cqrs.write.command;

import org.jspecify.annotations.NullMarked;
