package io.cqrs.read;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class ReadServiceApplication {

    public static void main(String[] args) {
        SpringApplication.run(ReadServiceApplication.class, args);
    }
}
