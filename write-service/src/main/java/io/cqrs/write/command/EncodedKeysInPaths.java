package io.cqrs.write.command;

import org.springframework.boot.tomcat.TomcatConnectorCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Keys may hold {@code /}: clients send it as {@code %2F} in {@code DELETE /write/{key}}. Tomcat rejects encoded
 * slashes by default; pass them through so that Spring's path matching decodes the key from one path segment.
 */
@Configuration(proxyBeanMethods = false)
class EncodedKeysInPaths {

    @Bean
    TomcatConnectorCustomizer passEncodedSlashesThrough() {
        return connector -> connector.setEncodedSolidusHandling("passthrough");
    }
}
