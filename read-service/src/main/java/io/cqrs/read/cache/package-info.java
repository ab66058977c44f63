/** The near cache of hot records, kept fresh by the projector's commit notifications rather than a TTL. */
@NullMarked
package io.cqrs.read.cache;

import org.jspecify.annotations.NullMarked;
