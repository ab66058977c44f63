package io.cqrs.write.reconcile;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.jdbc.DataSourceBuilder;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The reconciliation's own small, read-only pool on the read model's database. Not a default candidate, so the write
 * database stays the one {@code DataSource} that Boot configures (Flyway, transactions, health) and injects.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnBooleanProperty(name = "cqrs.reconcile.enabled", matchIfMissing = true)
class ReconcileConfiguration {

    @Bean(defaultCandidate = false)
    @Qualifier("readModel")
    HikariDataSource readModelDataSource(ReconcileProperties properties) {
        HikariDataSource dataSource = DataSourceBuilder.create()
                .type(HikariDataSource.class)
                .url(properties.readDbUrl())
                .username(properties.readDbUser())
                .password(properties.readDbPassword())
                .build();
        dataSource.setPoolName("read-model");
        dataSource.setMaximumPoolSize(2);
        dataSource.setMinimumIdle(0);
        dataSource.setReadOnly(true);
        dataSource.setConnectionTimeout(2000);
        // Start even while the read database is down: the reconciliation waits for it, writes do not need it.
        dataSource.setInitializationFailTimeout(-1);
        dataSource.addDataSourceProperty("options", "-c statement_timeout=30s -c plan_cache_mode=force_custom_plan");
        // Named in pg_stat_activity like the services' own pools, so an operator tells this login's sessions apart.
        dataSource.addDataSourceProperty("ApplicationName", "write-service-reconciliation");
        return dataSource;
    }

    @Bean
    Reconciler reconciler(
            ReconciliationRepository truth,
            @Qualifier("readModel") HikariDataSource readModel,
            ReconciliationStatus status,
            ReconcileProperties properties,
            TransactionTemplate transactions,
            MeterRegistry meters) {
        return new Reconciler(
                truth, new ReadModel(JdbcClient.create(readModel)), status, properties, transactions, meters);
    }
}
