/**
 * The event stream's Redis side shared by the services: connections opened the one configured way, and the state of
 * the stream and its consumer groups read the same way by every module that needs it.
 */
@NullMarked
package io.cqrs.stream;

import org.jspecify.annotations.NullMarked;
