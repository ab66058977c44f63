package io.cqrs.write;

import io.cqrs.apikeys.ApiAccess;
import io.cqrs.apikeys.Scope;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;

/** Which scope each endpoint of the write API needs; anything else needs a valid key and is then a 404. */
@Configuration(proxyBeanMethods = false)
class ApiScopes {

    @Bean
    ApiAccess writeApiScopes() {
        return rules -> rules.requestMatchers(HttpMethod.POST, "/write", "/write/batch")
                .hasAuthority(Scope.WRITE.authority())
                .requestMatchers(HttpMethod.PUT, "/write")
                .hasAuthority(Scope.WRITE.authority())
                .requestMatchers(HttpMethod.DELETE, "/write/**")
                .hasAuthority(Scope.WRITE.authority())
                .requestMatchers(HttpMethod.GET, "/stats")
                .hasAuthority(Scope.READ.authority());
    }
}
