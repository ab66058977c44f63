/** HTTP concerns shared by every endpoint: problem details and the servlet container's path handling. */
@NullMarked
package io.cqrs.read.web;

import org.jspecify.annotations.NullMarked;
