/** The write side: HTTP commands into the write database and their events to the stream through an outbox. */
@NullMarked
package io.cqrs.write;

import org.jspecify.annotations.NullMarked;
