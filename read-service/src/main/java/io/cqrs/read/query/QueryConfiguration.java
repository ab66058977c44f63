package io.cqrs.read.query;

import io.cqrs.read.cache.CacheProperties;
import io.cqrs.read.cache.NearCache;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

@Configuration(proxyBeanMethods = false)
class QueryConfiguration {

    @Bean
    NearCache<StoredRecord> nearCache(CacheProperties properties, MeterRegistry meters) {
        return new NearCache<>(properties, StoredRecord::version, StoredRecord::bytes, meters);
    }
}
