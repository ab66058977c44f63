/** Rebuilding the read model from the write database into a shadow table, then switching to it atomically. */
@NullMarked
package io.cqrs.projector.rebuild;

import org.jspecify.annotations.NullMarked;
