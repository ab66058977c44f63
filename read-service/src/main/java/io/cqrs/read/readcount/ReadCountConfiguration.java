package io.cqrs.read.readcount;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

@Configuration(proxyBeanMethods = false)
class ReadCountConfiguration {

    @Bean
    ReadCounter readCounter(ReadCountProperties properties) {
        return new ReadCounter(properties.maxKeys());
    }
}
