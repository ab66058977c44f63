/** Reading the state of the event stream and its consumer groups, the same way for every module that needs it. */
@NullMarked
package io.cqrs.stream;

import org.jspecify.annotations.NullMarked;
