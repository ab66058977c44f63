package io.cqrs.apikeys;

import jakarta.servlet.http.HttpServletRequest;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpHeaders;
import org.springframework.security.authentication.AuthenticationProvider;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.security.core.Authentication;
import org.springframework.security.web.authentication.AuthenticationConverter;

/**
 * Turns {@code Authorization: Bearer <secret>} into a proved key: the converter takes the secret from the header (none
 * without the header, a 401 when the header is not a bearer key), the provider looks it up among {@link ApiKeys}.
 */
final class ApiKeyCheck implements AuthenticationConverter, AuthenticationProvider {

    private static final String BEARER = "Bearer ";

    private final ApiKeys keys;

    ApiKeyCheck(ApiKeys keys) {
        this.keys = keys;
    }

    @Override
    public @Nullable Authentication convert(HttpServletRequest request) {
        String header = request.getHeader(HttpHeaders.AUTHORIZATION);
        if (header == null) {
            return null;
        }
        String secret = secret(header);
        if (secret == null) {
            throw new BadCredentialsException("The Authorization header must be 'Bearer <API key>'");
        }
        return ApiKeyAuthentication.presented(secret);
    }

    /** The secret of an {@code Authorization} header's value, or null when it is not {@code Bearer <secret>}. */
    static @Nullable String secret(@Nullable String header) {
        if (header == null || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            return null;
        }
        String secret = header.substring(BEARER.length()).strip();
        return secret.isEmpty() ? null : secret;
    }

    @Override
    public Authentication authenticate(Authentication authentication) {
        String secret = ((ApiKeyAuthentication) authentication).secret();
        return keys.find(secret == null ? "" : secret)
                .map(ApiKeyAuthentication::proved)
                .orElseThrow(() -> new BadCredentialsException("Unknown API key"));
    }

    @Override
    public boolean supports(Class<?> authentication) {
        return ApiKeyAuthentication.class.isAssignableFrom(authentication);
    }
}
