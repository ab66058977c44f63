package io.cqrs.read;

import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.info.Info;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.scheduling.annotation.EnableScheduling;

@SpringBootApplication
@OpenAPIDefinition(
        info =
                @Info(
                        title = "read-service",
                        version = "1",
                        description = "Records of the read model, projected from the write service's events, with"
                                + " read and write counts; totals and health. Every error is"
                                + " `application/problem+json`; besides those listed, any operation may answer 500"
                                + " `internal-error` (logged), and the server itself 400 `malformed-request` for a"
                                + " request it cannot parse."))
@ConfigurationPropertiesScan
@EnableScheduling
public class ReadServiceApplication {

    public static void main(String[] args) {
        SpringApplication.run(ReadServiceApplication.class, args);
    }
}
