package io.cqrs.read.readcount;

import io.cqrs.read.primary.PrimaryDatabase;
import java.sql.Array;
import java.util.HashMap;
import java.util.Map;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

/** Adds buffered read counts to {@code records.read_count} and {@code read_totals} in one statement. */
@Repository
class ReadCountRepository {

    // One statement, so one transaction: per-key counts and the total move together. Data-modifying CTEs run exactly
    // once whether or not the outer query reads them. Needs only UPDATE(read_count) on records and
    // UPDATE(total_reads) on read_totals (plus SELECT), see db/roles/read-service-grants.sql.
    // The rows are locked in key order first (FOR UPDATE needs only the UPDATE(read_count) grant), the order the
    // projector's upserts lock them in, so that a flush and a projection batch can never deadlock on each other.
    private static final String ADD_READS = """
            with delta(key, n) as (select * from unnest(?::text[], ?::bigint[])),
                 locked as (
                     select key from records where key in (select key from delta) order by key for update),
                 counted as (
                     update records r set read_count = r.read_count + delta.n
                     from locked join delta using (key) where r.key = locked.key
                     returning r.key, r.read_count, delta.n),
                 total as (
                     update read_totals set total_reads = total_reads + (select coalesce(sum(n), 0) from counted)
                     returning total_reads)
            select counted.key, counted.read_count from counted
            """;

    private final JdbcTemplate jdbc;

    // On the primary: when the service reads from a standby, which cannot be written, the counts go to its primary.
    ReadCountRepository(PrimaryDatabase primary) {
        this.jdbc = primary.jdbc();
    }

    /** Adds the batch's counts and returns each key's stored count afterwards (keys with no row are left out). */
    Map<String, Long> add(ReadCounter.Batch batch) {
        var storedAfter = new HashMap<String, Long>();
        jdbc.query(
                connection -> {
                    var statement = connection.prepareStatement(ADD_READS);
                    Array keys = connection.createArrayOf("text", batch.keys().toArray());
                    Array deltas =
                            connection.createArrayOf("bigint", batch.deltas().toArray());
                    statement.setArray(1, keys);
                    statement.setArray(2, deltas);
                    return statement;
                },
                row -> {
                    storedAfter.put(row.getString(1), row.getLong(2));
                });
        return storedAfter;
    }
}
