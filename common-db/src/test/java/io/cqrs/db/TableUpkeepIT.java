package io.cqrs.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.testsupport.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Timestamp;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

/** Against the local server, whose autovacuum is off (so nothing but the upkeep removes dead rows). */
class TableUpkeepIT {

    private TestDatabase database;
    private DriverManagerDataSource dataSource;
    private JdbcTemplate jdbc;
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    @BeforeEach
    void createTable() {
        database = TestDatabase.create();
        dataSource = new DriverManagerDataSource(database.jdbcUrl(), database.username(), database.password());
        jdbc = new JdbcTemplate(dataSource);
        jdbc.execute("create table churn (id int primary key, n int)");
        jdbc.execute("insert into churn select g, 0 from generate_series(1, 1000) g");
        // Every row replaced five times: up to 5,000 dead rows beside 1,000 live ones (fewer where pages were pruned).
        for (int i = 0; i < 5; i++) {
            jdbc.execute("update churn set n = n + 1");
        }
    }

    @AfterEach
    void dropDatabase() {
        database.close();
    }

    @Test
    void vacuumsATableWhoseDeadRowsPassTheThreshold() {
        var upkeep = new TableUpkeep(dataSource, properties(UpkeepProperties.Mode.ALWAYS), meters);
        // The server publishes a backend's table statistics shortly after its transactions end.
        await().atMost(Duration.ofSeconds(10)).until(() -> deadRows() > 2000);

        assertThat(upkeep.run()).contains("vacuum (analyze) churn");

        await().atMost(Duration.ofSeconds(10)).until(() -> deadRows() == 0);
        assertThat(jdbc.queryForObject(
                        "select last_vacuum is not null and last_analyze is not null from pg_stat_user_tables"
                                + " where relname = 'churn'",
                        Boolean.class))
                .isTrue();
        assertThat(meters.get("cqrs.db.upkeep").tag("table", "churn").counter().count())
                .isEqualTo(1);
    }

    @Test
    void vacuumsWithoutAnalyzingAgainWithinTheAnalyzeInterval() {
        var upkeep = new TableUpkeep(dataSource, properties(UpkeepProperties.Mode.ALWAYS, Duration.ofHours(1)), meters);
        await().atMost(Duration.ofSeconds(10)).until(() -> deadRows() > 2000);
        assertThat(upkeep.run()).contains("vacuum (analyze) churn");
        await().atMost(Duration.ofSeconds(10)).until(() -> deadRows() == 0 && lastAnalyze() != null);
        var analyzed = lastAnalyze();

        for (int i = 0; i < 5; i++) {
            jdbc.execute("update churn set n = n + 1");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> deadRows() > 2000);

        assertThat(upkeep.run()).contains("vacuum churn");
        await().atMost(Duration.ofSeconds(10)).until(() -> deadRows() == 0);
        assertThat(lastAnalyze()).isEqualTo(analyzed);
        assertThat(meters.get("cqrs.db.upkeep").tag("kind", "vacuum").counter().count())
                .isEqualTo(2);
    }

    @Test
    void leavesTablesBelowTheThresholdAlone() {
        var upkeep = new TableUpkeep(
                dataSource,
                new UpkeepProperties(UpkeepProperties.Mode.ALWAYS, Duration.ofSeconds(1), Duration.ZERO, 100_000, 0.1),
                meters);
        await().atMost(Duration.ofSeconds(10)).until(() -> deadRows() > 2000);

        assertThat(upkeep.run()).isEmpty();
        assertThat(deadRows()).isGreaterThan(2000);
    }

    @Test
    void leavesTheTablesToAutovacuumWhereItRuns() {
        boolean autovacuum = "on".equals(jdbc.queryForObject("show autovacuum", String.class));
        var upkeep = new TableUpkeep(dataSource, properties(UpkeepProperties.Mode.AUTO), meters);
        await().atMost(Duration.ofSeconds(10)).until(() -> deadRows() > 2000);

        // In auto mode it works exactly when the server's autovacuum does not.
        assertThat(upkeep.run().isEmpty()).isEqualTo(autovacuum);
    }

    private Timestamp lastAnalyze() {
        return jdbc.queryForObject(
                "select last_analyze from pg_stat_user_tables where relname = 'churn'", Timestamp.class);
    }

    private long deadRows() {
        Long dead =
                jdbc.queryForObject("select n_dead_tup from pg_stat_user_tables where relname = 'churn'", Long.class);
        return dead == null ? 0 : dead;
    }

    private static UpkeepProperties properties(UpkeepProperties.Mode mode) {
        return properties(mode, Duration.ZERO);
    }

    private static UpkeepProperties properties(UpkeepProperties.Mode mode, Duration analyzeInterval) {
        return new UpkeepProperties(mode, Duration.ofSeconds(1), analyzeInterval, 1000, 0.1);
    }
}
