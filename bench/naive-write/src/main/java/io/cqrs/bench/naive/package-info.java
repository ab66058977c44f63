/**
 * The benchmark's peer: the naive write design, an INSERT and then an XADD per request, which loses writes (see
 * {@link io.cqrs.bench.naive.NaiveWrites}) and exists only to be measured beside the write service.
 */
@NullMarked
package io.cqrs.bench.naive;

import org.jspecify.annotations.NullMarked;
