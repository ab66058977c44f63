/**
 * Who may call a service's API: API keys with scopes, checked by Spring Security before any handler runs.
 *
 * <p>A key is configured as {@code <name>:<scope>[+<scope>…]:<hex SHA-256 of the secret>} ({@code CQRS_API_KEYS},
 * comma-separated), so configuration never holds a secret. A caller sends {@code Authorization: Bearer <secret>};
 * {@link ApiKeys} hashes it and compares it with every configured hash in constant time. Each service declares which
 * scope each of its endpoints needs ({@link ApiAccess}); 401, 403 and 429 are problem+json. The key's name — never
 * the secret — is in the logs' MDC ({@code api_key}) and tags {@code http.server.requests}. Each key has a token
 * bucket ({@link RateLimit}). The management port (actuator) is outside the API: it is bound to loopback by default.
 *
 * <p>A service's most common requests take a shorter way past the chain, with the same rules: {@link
 * PlainRequestGate} admits those the chain would let through and leaves every other one, refusals included, to it.
 */
@NullMarked
package io.cqrs.apikeys;

import org.jspecify.annotations.NullMarked;
