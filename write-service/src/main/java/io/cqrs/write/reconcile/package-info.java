/** Continuous reconciliation: finds keys whose read-model state differs from the write database and repairs them. */
@NullMarked
package io.cqrs.write.reconcile;

import org.jspecify.annotations.NullMarked;
