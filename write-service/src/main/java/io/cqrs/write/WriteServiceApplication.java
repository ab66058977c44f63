package io.cqrs.write;

import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.info.Info;
import java.time.Clock;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.context.annotation.Bean;
import org.springframework.scheduling.annotation.EnableScheduling;

@SpringBootApplication
@OpenAPIDefinition(
        info =
                @Info(
                        title = "write-service",
                        version = "1",
                        description = "Commands into the write database; their events reach the read model through a"
                                + " transactional outbox and a Redis Stream. A 200 means committed. Every error is"
                                + " `application/problem+json`; besides those listed, any operation may answer 500"
                                + " `internal-error` (logged), and the server itself 400 `malformed-request` for a"
                                + " request it cannot parse."))
@ConfigurationPropertiesScan
@EnableScheduling
public class WriteServiceApplication {

    public static void main(String[] args) {
        SpringApplication.run(WriteServiceApplication.class, args);
    }

    @Bean
    Clock clock() {
        return Clock.systemUTC();
    }
}
