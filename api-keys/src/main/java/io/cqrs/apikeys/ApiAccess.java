package io.cqrs.apikeys;

import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configurers.AuthorizeHttpRequestsConfigurer;

/**
 * A service's own rules: which scope each of its API endpoints needs. Applied after the rules every service shares
 * (error dispatches, the management port, the probes on the API port) and before the last one (anything else needs a
 * valid key, so an unknown path answers 401 without a key and 404 with one).
 */
@FunctionalInterface
public interface ApiAccess {

    void rules(AuthorizeHttpRequestsConfigurer<HttpSecurity>.AuthorizationManagerRequestMatcherRegistry rules);
}
