/** Projector control for operators: status, pause and resume, reset of the group, forgetting dead consumers. */
@NullMarked
package io.cqrs.projector.control;

import org.jspecify.annotations.NullMarked;
