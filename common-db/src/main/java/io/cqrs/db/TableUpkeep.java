package io.cqrs.db;

import io.cqrs.db.TableStats.Upkeep;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.scheduling.annotation.SchedulingConfigurer;
import org.springframework.scheduling.config.ScheduledTaskRegistrar;

/**
 * Vacuums and analyzes the tables this service's login owns when their dead or new rows pass a threshold, as
 * autovacuum would, where the server's autovacuum is off.
 *
 * <p>Without it, on such a server (ours in CI is one), every updated or deleted row stays in its table and indexes for
 * good: measured after 330,000 writes, the outbox held as many dead rows as live ones, and the sweeper's query, which
 * should find nothing, walked all of them in its index, 140 ms each second, a quarter of PostgreSQL's CPU under load.
 * Statistics never arrived either, so plans stayed those of an empty table. A server whose autovacuum runs is left to
 * it ({@code mode=auto}).
 *
 * <p>Each table is vacuumed on a connection of its own for the time, with no statement timeout (a large first vacuum
 * may take minutes) and the pool's lock timeout (a table another transaction locks is tried again next round).
 */
class TableUpkeep implements SchedulingConfigurer {

    private static final Logger log = LoggerFactory.getLogger(TableUpkeep.class);

    // Tables of the current schema this login may vacuum: its own.
    private static final String STATS = """
            select quote_ident(s.relname), s.n_live_tup, s.n_dead_tup, s.n_ins_since_vacuum, s.n_mod_since_analyze,
                   extract(epoch from now() - greatest(s.last_analyze, s.last_autoanalyze))
            from pg_stat_user_tables s join pg_class c on c.oid = s.relid
            where s.schemaname = current_schema() and c.relowner = (select oid from pg_roles where rolname = current_user)
            """;

    private final DataSource dataSource;
    private final UpkeepProperties properties;
    private final MeterRegistry meters;

    TableUpkeep(DataSource dataSource, UpkeepProperties properties, MeterRegistry meters) {
        this.dataSource = dataSource;
        this.properties = properties;
        this.meters = meters;
    }

    @Override
    public void configureTasks(ScheduledTaskRegistrar registrar) {
        if (properties.mode() != UpkeepProperties.Mode.OFF) {
            registrar.addFixedDelayTask(this::run, properties.interval());
        }
    }

    /** One round: vacuums or analyzes each owned table that needs it; returns what it did, by table. */
    List<String> run() {
        var done = new ArrayList<String>();
        try (Connection connection = dataSource.getConnection()) {
            if (properties.mode() == UpkeepProperties.Mode.AUTO && autovacuumRuns(connection)) {
                return done;
            }
            boolean autoCommit = connection.getAutoCommit();
            connection.setAutoCommit(true); // VACUUM cannot run inside a transaction
            try (Statement statement = connection.createStatement()) {
                statement.execute("set statement_timeout = 0");
                for (TableStats table : tables(statement)) {
                    Upkeep due = table.due(properties);
                    if (due != Upkeep.NONE) {
                        apply(statement, table, due);
                        done.add(due.statement + " " + table.name());
                    }
                }
            } finally {
                try (Statement reset = connection.createStatement()) {
                    reset.execute("reset statement_timeout");
                }
                connection.setAutoCommit(autoCommit);
            }
        } catch (SQLException e) {
            log.warn("Table upkeep failed, trying again in {}: {}", properties.interval(), e.getMessage());
        }
        return done;
    }

    private static boolean autovacuumRuns(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement();
                var result = statement.executeQuery("select current_setting('autovacuum') = 'on'")) {
            return result.next() && result.getBoolean(1);
        }
    }

    private static List<TableStats> tables(Statement statement) throws SQLException {
        var tables = new ArrayList<TableStats>();
        try (var result = statement.executeQuery(STATS)) {
            while (result.next()) {
                double seconds = result.getDouble(6);
                Duration sinceAnalyze = result.wasNull() ? null : Duration.ofMillis((long) (seconds * 1000));
                tables.add(new TableStats(
                        result.getString(1),
                        result.getLong(2),
                        result.getLong(3),
                        result.getLong(4),
                        result.getLong(5),
                        sinceAnalyze));
            }
        }
        return tables;
    }

    private void apply(Statement statement, TableStats table, Upkeep due) throws SQLException {
        long start = System.nanoTime();
        try {
            statement.execute(due.statement + " " + table.name());
        } catch (SQLException e) {
            // Locked by another transaction past the lock timeout, say: the next round tries again.
            log.warn("Could not {} {}: {}", due.kind, table.name(), e.getMessage());
            return;
        }
        Counter.builder("cqrs.db.upkeep")
                .description("Tables vacuumed or analyzed by the service itself (the server's autovacuum was off)")
                .tag("table", table.name())
                .tag("kind", due.kind)
                .register(meters)
                .increment();
        log.info(
                "{} {} ({} live, {} dead rows) in {} ms",
                switch (due) {
                    case VACUUM -> "Vacuumed";
                    case VACUUM_ANALYZE -> "Vacuumed and analyzed";
                    default -> "Analyzed";
                },
                table.name(),
                table.liveRows(),
                table.deadRows(),
                (System.nanoTime() - start) / 1_000_000);
    }
}
