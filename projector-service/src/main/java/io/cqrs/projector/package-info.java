/** The projector: consumes the event stream in consumer-group batches into the read model. */
@NullMarked
package io.cqrs.projector;

import org.jspecify.annotations.NullMarked;
