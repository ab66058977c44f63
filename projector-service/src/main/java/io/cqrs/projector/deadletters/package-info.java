/** Dead letters for operators: list, count, redrive and purge them, and keep their stream bounded with a warning. */
@NullMarked
package io.cqrs.projector.deadletters;

import org.jspecify.annotations.NullMarked;
