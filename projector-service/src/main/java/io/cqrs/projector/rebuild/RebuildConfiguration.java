package io.cqrs.projector.rebuild;

import com.zaxxer.hikari.HikariDataSource;
import io.cqrs.apikeys.OperatorEndpoints;
import org.springframework.boot.jdbc.DataSourceBuilder;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The rebuild endpoint's access rule and the rebuild's connection to the write database. */
@Configuration(proxyBeanMethods = false)
class RebuildConfiguration {

    /** Operators only: starting, following and cancelling a rebuild need the admin scope. */
    @Bean
    OperatorEndpoints rebuildOperatorEndpoint() {
        return OperatorEndpoints.of(RebuildEndpoint.ID);
    }

    /**
     * The rebuild's own small, read-only pool on the write database, inside {@link WriteDatabase} rather than a
     * {@code DataSource} bean: nothing else (health, Flyway, transactions) uses it, so a write database that is down
     * never makes the projector look unhealthy.
     */
    @Bean(destroyMethod = "close")
    WriteDatabase writeDatabase(RebuildProperties properties) {
        HikariDataSource dataSource = DataSourceBuilder.create()
                .type(HikariDataSource.class)
                .url(properties.writeDbUrl())
                .username(properties.writeDbUser())
                .password(properties.writeDbPassword())
                .build();
        dataSource.setPoolName("rebuild-write-db");
        dataSource.setMaximumPoolSize(2);
        dataSource.setMinimumIdle(0);
        dataSource.setReadOnly(true);
        // An unreachable write database is a fast error, never a hang: at the door (connect), and mid-way (a statement
        // or a socket that stops answering).
        dataSource.setConnectionTimeout(2000);
        dataSource.addDataSourceProperty("connectTimeout", "2");
        dataSource.addDataSourceProperty("socketTimeout", "120");
        // Start, and project, while the write database is down: it is needed only while a rebuild runs.
        dataSource.setInitializationFailTimeout(-1);
        dataSource.addDataSourceProperty(
                "options", "-c statement_timeout=60s -c plan_cache_mode=force_custom_plan -c jit=off");
        // Named in pg_stat_activity like the services' own pools, so an operator tells this login's sessions apart.
        dataSource.addDataSourceProperty("ApplicationName", "projector-service-rebuild");
        return new WriteDatabase(dataSource);
    }
}
