/** End-to-end tests of the whole stack as processes, and checks that the stack's files agree with the services. */
@NullMarked
package io.cqrs.system;

import org.jspecify.annotations.NullMarked;
