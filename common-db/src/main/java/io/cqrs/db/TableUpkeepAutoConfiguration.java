package io.cqrs.db;

import io.micrometer.core.instrument.MeterRegistry;
import javax.sql.DataSource;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.context.annotation.Bean;

/** {@link TableUpkeep} for the service's own data source. */
@AutoConfiguration(after = DataSourceAutoConfiguration.class)
@ConditionalOnBean(DataSource.class)
@EnableConfigurationProperties(UpkeepProperties.class)
public class TableUpkeepAutoConfiguration {

    @Bean
    TableUpkeep tableUpkeep(DataSource dataSource, UpkeepProperties properties, MeterRegistry meters) {
        return new TableUpkeep(dataSource, properties, meters);
    }
}
