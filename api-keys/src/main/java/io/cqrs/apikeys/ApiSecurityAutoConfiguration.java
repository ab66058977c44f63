package io.cqrs.apikeys;

import io.micrometer.core.instrument.MeterRegistry;
import jakarta.servlet.DispatcherType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.endpoint.web.WebServerNamespace;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.boot.security.autoconfigure.UserDetailsServiceAutoConfiguration;
import org.springframework.boot.security.autoconfigure.actuate.web.servlet.EndpointRequest;
import org.springframework.boot.security.autoconfigure.actuate.web.servlet.ManagementWebSecurityAutoConfiguration;
import org.springframework.boot.security.autoconfigure.web.servlet.SecurityFilterProperties;
import org.springframework.boot.security.autoconfigure.web.servlet.ServletWebSecurityAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.security.authentication.ProviderManager;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configuration.EnableWebSecurity;
import org.springframework.security.config.annotation.web.configurers.AbstractHttpConfigurer;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.config.observation.SecurityObservationSettings;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.access.ExceptionTranslationFilter;
import org.springframework.security.web.access.intercept.AuthorizationFilter;
import org.springframework.security.web.authentication.AnonymousAuthenticationFilter;
import org.springframework.security.web.authentication.AuthenticationEntryPointFailureHandler;
import org.springframework.security.web.authentication.AuthenticationFilter;
import org.springframework.security.web.context.RequestAttributeSecurityContextRepository;
import org.springframework.security.web.firewall.HttpFirewall;
import org.springframework.security.web.firewall.StrictHttpFirewall;
import tools.jackson.databind.json.JsonMapper;

/**
 * The security every service shares: API keys from {@code cqrs.security.api-keys}, one stateless filter chain (no
 * sessions, no CSRF tokens, no login forms: every request carries its key), the service's {@link ApiAccess} rules,
 * refusals as problem+json, the key's name in logs and metrics, and the rate limit per key.
 */
@AutoConfiguration(
        before = {
            ServletWebSecurityAutoConfiguration.class,
            ManagementWebSecurityAutoConfiguration.class,
            UserDetailsServiceAutoConfiguration.class
        })
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@EnableConfigurationProperties(SecurityProperties.class)
@EnableWebSecurity
public class ApiSecurityAutoConfiguration {

    private static final Logger log = LoggerFactory.getLogger(ApiSecurityAutoConfiguration.class);

    @Bean
    ApiKeys apiKeys(SecurityProperties properties) {
        var keys = ApiKeys.parse(properties.apiKeys());
        if (keys.isEmpty()) {
            log.warn("No API keys are configured (CQRS_API_KEYS): every API request will be refused with 401");
        } else {
            log.info("API keys: {}", keys.keys());
        }
        return keys;
    }

    /**
     * No observations of Spring Security's own work: measured on two cores, wrapping each of the dozen filters of every
     * request in an observation with meters ({@code spring.security.*}) took two thirds of the read path's CPU (read
     * service 123 µs per read, against 39 µs before the filter chain existed). Requests stay observed as {@code
     * http.server.requests}, tagged with the key's name, and refusals are counted.
     */
    @Bean
    SecurityObservationSettings noSecurityObservations() {
        return SecurityObservationSettings.noObservations();
    }

    @Bean
    ApiKeyCheck apiKeyCheck(ApiKeys keys) {
        return new ApiKeyCheck(keys);
    }

    @Bean
    TokenBuckets apiKeyTokenBuckets(SecurityProperties properties) {
        return new TokenBuckets(properties.rateLimit());
    }

    @Bean
    PlainRequestGate plainRequestGate(
            ObjectProvider<ApiKeys> keys,
            ObjectProvider<TokenBuckets> buckets,
            HttpFirewall firewall,
            ObjectProvider<SecurityFilterProperties> chain) {
        int chainOrder = chain.getIfAvailable(SecurityFilterProperties::new).getOrder();
        return new PlainRequestGate(keys, buckets, firewall, chainOrder);
    }

    @Bean
    ProblemAnswers securityProblemAnswers(JsonMapper json, MeterRegistry meters) {
        return new ProblemAnswers(json, meters);
    }

    @Bean
    KeyTaggedRequests keyTaggedRequests() {
        return new KeyTaggedRequests();
    }

    /**
     * Spring Security's firewall, less strict where keys need it: any key that can be written can be read and deleted
     * through the path, so encoded {@code /}, {@code \}, {@code %}, {@code .} and {@code ;} pass, and so do the keys
     * {@code .} and {@code ..} ({@link DotSegmentKeys}). Our rules never grant by path prefix what they refuse
     * elsewhere (anything unknown needs a key), so such paths open nothing.
     */
    @Bean
    HttpFirewall httpFirewall() {
        var firewall = new StrictHttpFirewall();
        firewall.setAllowUrlEncodedSlash(true);
        firewall.setAllowUrlEncodedDoubleSlash(true);
        firewall.setAllowBackSlash(true);
        firewall.setAllowUrlEncodedPercent(true);
        firewall.setAllowUrlEncodedPeriod(true);
        firewall.setAllowSemicolon(true);
        return new DotSegmentKeys(firewall);
    }

    @Bean
    SecurityFilterChain apiSecurity(
            HttpSecurity http,
            ApiKeyCheck check,
            ProblemAnswers answers,
            TokenBuckets buckets,
            ObjectProvider<ApiAccess> access,
            ObjectProvider<OperatorEndpoints> operatorEndpoints)
            throws Exception {
        var authenticate = new AuthenticationFilter(new ProviderManager(check), check);
        authenticate.setSecurityContextRepository(new RequestAttributeSecurityContextRepository());
        authenticate.setSuccessHandler((request, response, authentication) -> {});
        authenticate.setFailureHandler(new AuthenticationEntryPointFailureHandler(answers));
        return http.csrf(AbstractHttpConfigurer::disable)
                .httpBasic(AbstractHttpConfigurer::disable)
                .formLogin(AbstractHttpConfigurer::disable)
                .logout(AbstractHttpConfigurer::disable)
                .requestCache(AbstractHttpConfigurer::disable)
                .sessionManagement(sessions -> sessions.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .exceptionHandling(
                        refusals -> refusals.authenticationEntryPoint(answers).accessDeniedHandler(answers))
                .addFilterBefore(authenticate, AnonymousAuthenticationFilter.class)
                .addFilterBefore(new KeyNameInLogs(), ExceptionTranslationFilter.class)
                .addFilterAfter(new RateLimit(buckets, answers), AuthorizationFilter.class)
                .authorizeHttpRequests(rules -> {
                    rules.dispatcherTypeMatchers(DispatcherType.ERROR).permitAll();
                    // The management port: bound to loopback by default, where Prometheus scrapes and health details
                    // live. Open, but for the operator endpoints a service declares, which need the admin scope.
                    operatorEndpoints
                            .orderedStream()
                            .forEach(operator -> rules.requestMatchers(
                                            EndpointRequest.to(operator.ids().toArray(String[]::new)))
                                    .hasAuthority(Scope.ADMIN.authority()));
                    rules.requestMatchers(EndpointRequest.toAnyEndpoint()).permitAll();
                    // Liveness and readiness on the API port (/livez, /readyz), without details.
                    rules.requestMatchers(
                                    EndpointRequest.toAdditionalPaths(WebServerNamespace.SERVER, HealthEndpoint.class))
                            .permitAll();
                    access.orderedStream().forEach(service -> service.rules(rules));
                    rules.anyRequest().authenticated();
                })
                .build();
    }
}
