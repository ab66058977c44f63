/** HTTP concerns shared by every endpoint: problem bodies, request size, encoded keys in paths. */
@NullMarked
package io.cqrs.write.web;

import org.jspecify.annotations.NullMarked;
