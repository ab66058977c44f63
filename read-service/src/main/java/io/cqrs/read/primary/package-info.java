/** The read database's primary, when the service reads from a streaming standby: notifications and read counts. */
@NullMarked
package io.cqrs.read.primary;

import org.jspecify.annotations.NullMarked;
