/**
 * What the services' OpenAPI descriptions share: the API key scheme and the scope each operation needs
 * ({@link ApiKeyScope}), the problem body and the problems an operation answers ({@link ProblemResponse}), JSON field
 * names as the services spell them, and the description's URLs open to callers without a key.
 */
@NullMarked
package io.cqrs.web.description;

import org.jspecify.annotations.NullMarked;
