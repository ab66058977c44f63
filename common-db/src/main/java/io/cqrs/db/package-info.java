/** Upkeep of the tables a service owns in PostgreSQL, done by the service itself where the server does not do it. */
@NullMarked
package io.cqrs.db;

import org.jspecify.annotations.NullMarked;
