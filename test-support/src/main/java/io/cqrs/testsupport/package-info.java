/** Real PostgreSQL and Redis for tests: containers when a Docker engine answers, the local servers otherwise. */
@NullMarked
package io.cqrs.testsupport;

import org.jspecify.annotations.NullMarked;
