/** Reading one record: the near cache, the database, read-your-writes waits and the HTTP endpoint. */
@NullMarked
package io.cqrs.read.query;

import org.jspecify.annotations.NullMarked;
