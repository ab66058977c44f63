package io.cqrs.read.query;

import org.springframework.boot.tomcat.TomcatConnectorCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Lets {@code %2F} (and {@code %5C}) through Tomcat undecoded ({@code passthrough}), so that a key holding {@code /}
 * or a backslash stays one path segment; Spring MVC then decodes the segment once for {@code @PathVariable}. Tomcat
 * rejects such paths by default and Spring Boot has no property for it.
 */
@Configuration(proxyBeanMethods = false)
class TomcatPaths {

    @Bean
    TomcatConnectorCustomizer encodedSlashesPassThrough() {
        return connector -> {
            connector.setEncodedSolidusHandling("passthrough");
            connector.setEncodedReverseSolidusHandling("passthrough");
        };
    }
}
