/** GET /stats: what the write side holds and how far its outbox is behind, from cheap queries. */
@NullMarked
package io.cqrs.write.stats;

import org.jspecify.annotations.NullMarked;
