/** O(1) totals over the read model and the event stream. */
@NullMarked
package io.cqrs.read.stats;

import org.jspecify.annotations.NullMarked;
