/** The event contract shared by every module: record events and their stream codec. */
@NullMarked
package io.cqrs.events;

import org.jspecify.annotations.NullMarked;
