package io.cqrs.projector;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class ProjectorServiceApplication {

    public static void main(String[] args) {
        SpringApplication.run(ProjectorServiceApplication.class, args);
    }
}
