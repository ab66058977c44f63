/** Commands: validate each request, group concurrent ones into one transaction, answer with versions. */
@NullMarked
package io.cqrs.write.command;

import org.jspecify.annotations.NullMarked;
