package io.cqrs.projector.rebuild;

import io.cqrs.events.RecordChanges;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The rebuild's last step: the shadow becomes the read model of its scope, in one transaction, so that readers see
 * either all the old rows or all the new ones. Rows are updated in place, never deleted and inserted again, and the
 * read count is never written: a read-count flush keeps every increment (it waits for the switch, then adds to the new
 * row). Keys the live table lacks are inserted, keys in scope the shadow lacks deleted, the {@code projection_state}
 * counters moved by the difference, the dual apply turned off, and every changed key announced to the read services'
 * near caches, all before the commit.
 */
@Component
class Switch {

    private static final Logger log = LoggerFactory.getLogger(Switch.class);

    // A change to the highest version tells a read service to drop whatever it caches for the key: the switch may move
    // a key back to an older version (a read model ahead of a restored write database), which a notice of the real
    // version would not evict. Waiters woken by it read the database again, as after any notice.
    private static final String ANY_VERSION = Long.toString(Long.MAX_VALUE);

    // Lines of a notice are grouped by where they start: a group holds lines starting within this many bytes, so a
    // payload stays below RecordChanges.MAX_PAYLOAD_BYTES even when its last line is the longest a key allows.
    private static final int PAYLOAD_START_BYTES = RecordChanges.MAX_PAYLOAD_BYTES - 1100;

    private final JdbcClient jdbc;
    private final TransactionTemplate transactions;
    private final RebuildRepository rebuilds;

    Switch(JdbcClient jdbc, TransactionTemplate transactions, RebuildRepository rebuilds) {
        this.jdbc = jdbc;
        this.transactions = transactions;
        this.rebuilds = rebuilds;
    }

    /** What the switch changed in {@code records}, and how long its transaction took. */
    record Result(long updated, long inserted, long deleted, double seconds) {}

    /** Switches rebuild {@code id} to its shadow; throws, changing nothing, if the rebuild ended meanwhile. */
    Result run(long id, ShadowTarget shadow) {
        long started = System.nanoTime();
        Result result = transactions.execute(status -> {
            // The projector's row first, as every batch takes it: no batch runs until the commit, none is half-seen.
            String applied = jdbc.sql("select rebuild_table from projection_state where projection = ? for update")
                    .param(RebuildRepository.PROJECTION)
                    .query(String.class)
                    .optional()
                    .orElse(null);
            if (!shadow.table().equals(applied)) {
                throw new IllegalStateException("the dual apply no longer targets " + shadow.table());
            }
            rebuilds.lockRunning(id)
                    .orElseThrow(() -> new IllegalStateException("rebuild #" + id + " was ended elsewhere"));
            // Read-count flushes (row exclusive) wait until the commit, then add to the rows as switched; readers
            // (access share) do not wait. Taken after the projector's row, which flushes never touch: no deadlock.
            jdbc.sql("lock table records in share row exclusive mode").update();
            Totals before = shadow.scope()
                    .bind(jdbc.sql("select count(*) filter (where not deleted), coalesce(sum(write_count), 0)"
                            + " from records r where " + Scope.condition("r.key")))
                    .query((rs, row) -> new Totals(rs.getLong(1), rs.getLong(2)))
                    .single();
            Totals after = jdbc.sql("select count(*) filter (where not deleted), coalesce(sum(write_count), 0) from "
                            + shadow.table())
                    .query((rs, row) -> new Totals(rs.getLong(1), rs.getLong(2)))
                    .single();
            String s = shadow.table();
            Changed changed = shadow.scope()
                    .bind(jdbc.sql("with upd as (update records r set value = s.value, version = s.version,"
                            + " write_count = s.write_count, deleted = s.deleted, created_at = s.created_at,"
                            + " updated_at = s.updated_at, last_command_id = s.last_command_id"
                            + " from " + s + " s where r.key = s.key"
                            + " and (r.value, r.version, r.write_count, r.deleted, r.created_at, r.updated_at,"
                            + " r.last_command_id) is distinct from (s.value, s.version, s.write_count, s.deleted,"
                            + " s.created_at, s.updated_at, s.last_command_id) returning r.key),"
                            + " ins as (insert into records (key, value, version, write_count, deleted, created_at,"
                            + " updated_at, last_command_id) select s.key, s.value, s.version, s.write_count,"
                            + " s.deleted, s.created_at, s.updated_at, s.last_command_id from " + s + " s"
                            + " where not exists (select from records r where r.key = s.key) returning key),"
                            + " del as (delete from records r where " + Scope.condition("r.key")
                            + " and not exists (select from " + s + " s where s.key = r.key) returning r.key),"
                            + " changed as (select key from upd union all select key from ins"
                            + " union all select key from del),"
                            + " lines as (select c.line, sum(octet_length(c.line) + 1) over (order by c.key"
                            + " rows unbounded preceding) - octet_length(c.line) - 1 as start"
                            + " from (select key, :any_version::text || ' ' || key as line from changed) c),"
                            + " notices as (select pg_notify(:channel::text, string_agg(line, E'\\n' order by start))"
                            + " from lines group by start / :payload_bytes::bigint)"
                            + " select (select count(*) from upd), (select count(*) from ins),"
                            + " (select count(*) from del), (select count(*) from notices)"))
                    .param("any_version", ANY_VERSION)
                    .param("channel", RecordChanges.CHANNEL)
                    .param("payload_bytes", PAYLOAD_START_BYTES)
                    .query((rs, row) -> new Changed(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4)))
                    .single();
            // A rebuild of everything sets the counters to what the rebuilt table holds, which also ends any drift a
            // projection bug left in them; a part moves them by the part's difference.
            long records = shadow.scope().isAll() ? after.live() : -1;
            long totalWrites = shadow.scope().isAll() ? after.writes() : -1;
            jdbc.sql("""
                            update projection_state
                               set records = case when ? >= 0 then ? else records + ? end,
                                   total_writes = case when ? >= 0 then ? else total_writes + ? end,
                                   rebuild_table = null, rebuild_from = null, rebuild_to = null, rebuild_prefix = null
                             where projection = ?
                            """)
                    .params(
                            records,
                            records,
                            after.live() - before.live(),
                            totalWrites,
                            totalWrites,
                            after.writes() - before.writes(),
                            RebuildRepository.PROJECTION)
                    .update();
            double seconds = (System.nanoTime() - started) / 1e9;
            rebuilds.switched(id, changed.updated(), changed.inserted(), changed.deleted(), seconds);
            log.info(
                    "Rebuild #{} switching: {} keys updated, {} inserted, {} deleted, {} change notices; committing",
                    id,
                    changed.updated(),
                    changed.inserted(),
                    changed.deleted(),
                    changed.notices());
            return new Result(changed.updated(), changed.inserted(), changed.deleted(), seconds);
        });
        return new Result(result.updated(), result.inserted(), result.deleted(), (System.nanoTime() - started) / 1e9);
    }

    private record Totals(long live, long writes) {}

    private record Changed(long updated, long inserted, long deleted, long notices) {}
}
