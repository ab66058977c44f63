/** Listening to the projector's commit notifications and waking what depends on them. */
@NullMarked
package io.cqrs.read.changes;

import org.jspecify.annotations.NullMarked;
