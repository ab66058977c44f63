package io.cqrs.web.description;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Repeatable;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A problem this operation answers with: an {@code application/problem+json} response of this status whose {@code
 * type} is one of {@link #types()}. Repeatable, also on an annotation that gathers the problems several operations
 * share; two for one status are merged.
 */
@Target({ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Repeatable(ProblemResponse.List.class)
public @interface ProblemResponse {

    int status();

    /** The problem types: {@code invalid-command} stands for {@code urn:cqrs:problem:invalid-command}; a URI as is. */
    String[] types();

    /** When and why, one sentence. */
    String description();

    /** The response carries {@code Retry-After} (whole seconds). */
    boolean retryAfter() default false;

    @Target({ElementType.METHOD, ElementType.ANNOTATION_TYPE})
    @Retention(RetentionPolicy.RUNTIME)
    @Documented
    @interface List {

        ProblemResponse[] value();
    }
}
