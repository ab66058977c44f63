/** The fault-injection suite: own servers, the three services under load, faults, and a checker against the truth. */
@NullMarked
package io.cqrs.chaos;

import org.jspecify.annotations.NullMarked;
