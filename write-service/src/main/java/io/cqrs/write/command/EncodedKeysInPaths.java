package io.cqrs.write.command;

import org.springframework.boot.tomcat.TomcatConnectorCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Keys may hold {@code /} and {@code \}: clients send them as {@code %2F} and {@code %5C} in
 * {@code DELETE /write/{key}}. Tomcat rejects both encoded by default (with an HTML 400 of its own); pass them through
 * so that Spring's path matching decodes the key from one path segment, as the read service does.
 */
@Configuration(proxyBeanMethods = false)
class EncodedKeysInPaths {

    @Bean
    TomcatConnectorCustomizer passEncodedSlashesThrough() {
        return connector -> {
            connector.setEncodedSolidusHandling("passthrough");
            connector.setEncodedReverseSolidusHandling("passthrough");
        };
    }
}
