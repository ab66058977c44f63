package io.cqrs.web;

import org.apache.catalina.Valve;
import org.apache.catalina.core.StandardHost;
import org.apache.catalina.valves.ErrorReportValve;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.tomcat.TomcatConnectorCustomizer;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.webmvc.autoconfigure.error.ErrorMvcAutoConfiguration;
import org.springframework.context.annotation.Bean;
import tools.jackson.databind.json.JsonMapper;

/**
 * What every service's HTTP port does the same way, outside the service's own controllers and advice: errors Tomcat
 * answers by itself become problems ({@link ProblemReportValve}, {@link ContainerErrorController}), and encoded
 * slashes and backslashes in a path reach the application.
 */
@AutoConfiguration(before = ErrorMvcAutoConfiguration.class)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
public class HttpEdgeAutoConfiguration {

    /** Boot's error controller backs off when this one exists (it is looked for by type). */
    @Bean
    ContainerErrorController containerErrorController(JsonMapper mapper) {
        return new ContainerErrorController(ContainerProblem.writer(mapper));
    }

    /**
     * Puts {@link ProblemReportValve} on the host in place of the {@link ErrorReportValve} Boot adds, and names its class
     * as the host's error report valve, so that Tomcat adds no HTML one of its own at start. Runs after Boot's
     * customizer (it has the default, lowest precedence), whose valve is therefore there to be replaced.
     */
    @Bean
    WebServerFactoryCustomizer<TomcatServletWebServerFactory> problemReports(JsonMapper mapper) {
        var json = ContainerProblem.writer(mapper);
        return factory -> factory.addContextCustomizers(context -> {
            var host = (StandardHost) context.getParent();
            for (Valve existing : host.getPipeline().getValves()) {
                if (existing instanceof ErrorReportValve) {
                    host.getPipeline().removeValve(existing);
                }
            }
            host.setErrorReportValveClass(ProblemReportValve.class.getName());
            host.getPipeline().addValve(new ProblemReportValve(json));
        });
    }

    /**
     * Keys may hold {@code /} and {@code \}, sent as {@code %2F} and {@code %5C} in one path segment. Tomcat rejects
     * both encoded by default (and Boot has no property for it): pass them through undecoded, so that Spring MVC, which
     * matches the raw path, decodes the segment once for {@code @PathVariable}.
     */
    @Bean
    TomcatConnectorCustomizer encodedSlashesPassThrough() {
        return connector -> {
            connector.setEncodedSolidusHandling("passthrough");
            connector.setEncodedReverseSolidusHandling("passthrough");
        };
    }
}
