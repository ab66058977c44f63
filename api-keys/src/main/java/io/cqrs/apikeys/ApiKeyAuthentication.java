package io.cqrs.apikeys;

import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.security.authentication.AbstractAuthenticationToken;
import org.springframework.security.core.authority.SimpleGrantedAuthority;

/**
 * A caller: before the check, the secret it presented (never logged, never kept); after, the key it proved, named by
 * the key's name, with one authority per scope.
 */
final class ApiKeyAuthentication extends AbstractAuthenticationToken {

    private final @Nullable String secret;
    private final @Nullable ApiKey key;

    private ApiKeyAuthentication(@Nullable String secret, @Nullable ApiKey key) {
        super(
                key == null
                        ? List.of()
                        : key.scopes().stream()
                                .map(scope -> new SimpleGrantedAuthority(scope.authority()))
                                .toList());
        this.secret = secret;
        this.key = key;
        setAuthenticated(key != null);
    }

    static ApiKeyAuthentication presented(String secret) {
        return new ApiKeyAuthentication(secret, null);
    }

    static ApiKeyAuthentication proved(ApiKey key) {
        return new ApiKeyAuthentication(null, key);
    }

    @Nullable
    String secret() {
        return secret;
    }

    @Override
    public @Nullable Object getCredentials() {
        return null;
    }

    @Override
    public Object getPrincipal() {
        return getName();
    }

    @Override
    public String getName() {
        return key == null ? "" : key.name();
    }
}
