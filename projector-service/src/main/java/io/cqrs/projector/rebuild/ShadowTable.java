package io.cqrs.projector.rebuild;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * A rebuild's shadow table in the read database: made when the rebuild starts, filled by the copy and the dual apply,
 * compared and put right by the verification, dropped when the rebuild ends. It holds only keys in the rebuild's scope,
 * with every column of {@code records} but the read count, which stays the read service's, in {@code records}.
 */
@Component
class ShadowTable {

    private final JdbcClient jdbc;

    ShadowTable(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** Makes the (empty) shadow table of a rebuild. A logged table: a crash of the database must not empty it. */
    void create(ShadowTarget shadow) {
        jdbc.sql("create table " + shadow.table() + """
                         (
                            key             text        primary key,
                            value           text,
                            version         bigint      not null,
                            write_count     bigint      not null,
                            deleted         boolean     not null,
                            created_at      timestamptz not null,
                            updated_at      timestamptz not null,
                            last_command_id bigint      not null)
                        """).update();
    }

    /**
     * Gives the planner the shadow's statistics once the copy has filled it, for the verification's range scans and
     * the switch's join (the server's autovacuum may be off, and the service's own upkeep looks only every so often).
     */
    void analyze(ShadowTarget shadow) {
        jdbc.sql("analyze " + shadow.table()).update();
    }

    void drop(String table) {
        jdbc.sql("drop table if exists " + new ShadowTarget(table, Scope.ALL).table())
                .update();
    }

    /** Shadow tables present, for the clean-up of those no running rebuild owns. */
    List<String> existing() {
        return jdbc.sql("select tablename from pg_tables where schemaname = current_schema()"
                        + " and tablename ~ '^records_shadow_[0-9]+$'")
                .query(String.class)
                .list();
    }

    /** Merges rows from the write database into the shadow, with the projection's version guard. */
    void merge(ShadowTarget shadow, List<CopiedRow> rows) {
        if (!rows.isEmpty()) {
            shadow.upsert(jdbc, CopiedRow.parameters(rows));
        }
    }

    /** The summary of the shadow's keys in {@code (after, upTo]} (everything after {@code after} when null). */
    RangeSummary summary(ShadowTarget shadow, String after, @Nullable String upTo) {
        return jdbc.sql("select count(*), coalesce(sum(" + RangeSummary.KEY_HASH + "), 0)::text, max(key) from "
                        + shadow.table() + " where key > :after" + (upTo == null ? "" : " and key <= :up_to"))
                .param("after", after)
                .param("up_to", upTo)
                .query((rs, row) -> new RangeSummary(rs.getLong(1), rs.getString(2), rs.getString(3)))
                .single();
    }

    /** The shadow's rows in {@code (after, upTo]}, the first {@code limit} of them, by key. */
    Map<String, KeyRow> rows(ShadowTarget shadow, String after, @Nullable String upTo, int limit) {
        var rows = new HashMap<String, KeyRow>();
        jdbc.sql("select key, version, write_count, deleted from " + shadow.table() + " where key > :after"
                        + (upTo == null ? "" : " and key <= :up_to") + " order by key limit :limit")
                .param("after", after)
                .param("up_to", upTo)
                .param("limit", limit)
                .query(rs -> {
                    var row = KeyRow.of(rs);
                    rows.put(row.key(), row);
                });
        return rows;
    }

    /**
     * Sets keys the shadow holds ahead of the write database back to the write database's rows, each only if the
     * shadow still holds the version it was found at (so that nothing newer that arrived since is undone).
     */
    int setBack(ShadowTarget shadow, List<CopiedRow> rows, Map<String, Long> foundVersions) {
        if (rows.isEmpty()) {
            return 0;
        }
        long[] found = rows.stream().mapToLong(r -> foundVersions.get(r.key())).toArray();
        return ShadowTarget.bindRows(jdbc.sql("update " + shadow.table() + """
                         t
                           set value = b.value, version = b.version, write_count = b.write_count, deleted = b.deleted,
                               created_at = b.created_at, updated_at = b.updated_at,
                               last_command_id = b.last_command_id
                          from unnest(:keys::text[], :values::text[], :versions::bigint[], :write_counts::bigint[],
                                      :deleted::boolean[], :created_at::timestamptz[], :updated_at::timestamptz[],
                                      :command_ids::bigint[], :found::bigint[])
                               as b(key, value, version, write_count, deleted, created_at, updated_at,
                                    last_command_id, found)
                         where t.key = b.key and t.version = b.found
                        """), CopiedRow.parameters(rows))
                .param("found", found)
                .update();
    }

    /** Removes keys the write database does not hold, each only if still at the version it was found at. */
    int remove(ShadowTarget shadow, Map<String, Long> foundVersions) {
        if (foundVersions.isEmpty()) {
            return 0;
        }
        var keys = foundVersions.keySet().toArray(String[]::new);
        long[] versions = new long[keys.length];
        for (int i = 0; i < keys.length; i++) {
            versions[i] = foundVersions.get(keys[i]);
        }
        return jdbc.sql("delete from " + shadow.table()
                        + " t using unnest(:keys::text[], :versions::bigint[]) as b(key, version)"
                        + " where t.key = b.key and t.version = b.version")
                .param("keys", keys)
                .param("versions", versions)
                .update();
    }
}
