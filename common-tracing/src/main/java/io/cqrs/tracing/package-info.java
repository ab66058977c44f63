/** Optional tracing every service shares: the trace context of a request, handed to the event it makes and on. */
@NullMarked
package io.cqrs.tracing;

import org.jspecify.annotations.NullMarked;
