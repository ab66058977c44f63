package io.cqrs.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * The check of how a service's pool plans its statements: once per connection, reused, and by key whatever the table's
 * size was when the plan was made.
 */
public final class PlanChecks {

    private PlanChecks() {}

    /**
     * On a connection of {@code database}: a statement that finds rows by key is planned once while its table is empty
     * and analyzed, and reused without planning again; after the table grew a thousandfold without a new analysis (a
     * fresh database under load between two analyses), that reused plan still finds the key through its index instead
     * of scanning every row.
     */
    public static void assertPlansReusedAndByKey(DataSource database) {
        try (Connection connection = database.getConnection();
                Statement sql = connection.createStatement()) {
            boolean autoCommit = connection.getAutoCommit();
            connection.setAutoCommit(false);
            sql.execute("create temporary table plan_check (key text primary key, value text) on commit drop");
            sql.execute("analyze plan_check");
            sql.execute("prepare plan_check_lookup(text[]) as select value from plan_check where key = any($1)");
            try {
                for (int i = 0; i < 10; i++) {
                    plan(sql); // the first five executions are where PostgreSQL's own choice tries custom plans
                }
                sql.execute("insert into plan_check select 'k' || i, 'v' from generate_series(1, 20000) as i");

                List<String> grown = plan(sql);

                try (var counts = sql.executeQuery(
                        "select generic_plans, custom_plans from pg_prepared_statements where name = 'plan_check_lookup'")) {
                    assertThat(counts.next()).isTrue();
                    assertThat(counts.getLong("custom_plans"))
                            .as("executions planned afresh (plan_cache_mode)")
                            .isZero();
                    assertThat(counts.getLong("generic_plans")).isEqualTo(11);
                }
                assertThat(String.join("\n", grown))
                        .as("the reused plan after the table grew")
                        .contains("plan_check_pkey")
                        .doesNotContain("Seq Scan");
            } finally {
                // The connection goes back to the pool as it came: no table, no prepared statement of ours.
                connection.rollback();
                sql.execute("deallocate plan_check_lookup");
                connection.setAutoCommit(autoCommit);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> plan(Statement sql) throws SQLException {
        var lines = new ArrayList<String>();
        try (var plan = sql.executeQuery("explain execute plan_check_lookup('{k7}')")) {
            while (plan.next()) {
                lines.add(plan.getString(1));
            }
        }
        return lines;
    }
}
