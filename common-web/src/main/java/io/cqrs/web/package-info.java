/**
 * The HTTP edge every service shares: answers Tomcat gives by itself, before or outside Spring MVC, in the same
 * {@code application/problem+json} shape as the services' own errors, and keys with encoded slashes in paths.
 */
@NullMarked
package io.cqrs.web;

import org.jspecify.annotations.NullMarked;
