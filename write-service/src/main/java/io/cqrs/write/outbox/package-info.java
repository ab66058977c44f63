/** The transactional outbox: publish committed commands' events to the stream, retry leftovers, clean up. */
@NullMarked
package io.cqrs.write.outbox;

import org.jspecify.annotations.NullMarked;
