/** The operators' audit log: who changed what through the operator endpoints, when, and how it ended. */
@NullMarked
package io.cqrs.projector.audit;

import org.jspecify.annotations.NullMarked;
