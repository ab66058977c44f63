package io.cqrs.bench.naive;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

@SpringBootApplication
@ConfigurationPropertiesScan
public class NaiveWriteApplication {

    public static void main(String[] args) {
        SpringApplication.run(NaiveWriteApplication.class, args);
    }
}
