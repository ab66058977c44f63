package io.cqrs.read;

import io.cqrs.apikeys.ApiAccess;
import io.cqrs.apikeys.Scope;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;

/**
 * Which scope each endpoint of the read API needs: {@code /health} none (load balancers and people ask it without a
 * key; it holds no data), the rest {@code read}; anything else needs a valid key and is then a 404.
 */
@Configuration(proxyBeanMethods = false)
class ApiScopes {

    @Bean
    ApiAccess readApiScopes() {
        return rules -> rules.requestMatchers(HttpMethod.GET, "/health")
                .permitAll()
                .requestMatchers(HttpMethod.GET, "/read/**", "/stats")
                .hasAuthority(Scope.READ.authority());
    }
}
