/** Exact read counts: buffered in memory per key, flushed to the read database in batches. */
@NullMarked
package io.cqrs.read.readcount;

import org.jspecify.annotations.NullMarked;
