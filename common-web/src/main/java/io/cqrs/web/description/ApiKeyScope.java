package io.cqrs.web.description;

import io.cqrs.apikeys.Scope;
import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The scope a key needs for this operation, as the API description shows it: a bearer key requirement with the scope
 * named, and the security layer's 401, 403 and 429 problems. Documents the service's {@code ApiAccess} rules; the
 * service's API description test holds the two together.
 */
@Target({ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface ApiKeyScope {

    Scope value();
}
