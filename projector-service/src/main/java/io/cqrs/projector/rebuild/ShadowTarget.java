package io.cqrs.projector.rebuild;

import java.util.Optional;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The shadow table a running rebuild builds, and the keys it covers: where the projector applies each batch a second
 * time, in the same transaction, while the rebuild runs (the dual apply). {@code projection_state} names it
 * ({@code rebuild_table} and the scope columns), and every projector transaction reads that row first anyway.
 */
public record ShadowTarget(String table, Scope scope) {

    private static final Pattern TABLE = Pattern.compile("records_shadow_[0-9]{1,18}");

    public ShadowTarget {
        // The name goes into SQL text: only the names this package makes are accepted.
        if (!TABLE.matcher(table).matches()) {
            throw new IllegalArgumentException("not a rebuild's shadow table: " + table);
        }
    }

    static String tableOf(long rebuildId) {
        return "records_shadow_" + rebuildId;
    }

    /** The target {@code projection_state} names, if a rebuild is running. */
    public static Optional<ShadowTarget> of(
            @Nullable String table, @Nullable String fromKey, @Nullable String toKey, @Nullable String prefix) {
        return table == null
                ? Optional.empty()
                : Optional.of(new ShadowTarget(table, new Scope(fromKey, toKey, prefix)));
    }

    // The projection's version guard ({newer}): the incoming row is newer, or corrects the state at the same version.
    private static final String UPSERT = """
            insert into {table} as r (key, value, version, write_count, deleted, created_at, updated_at, last_command_id)
            select b.key, b.value, b.version, b.write_count, b.deleted, b.created_at, b.updated_at, b.last_command_id
              from unnest(:keys::text[], :values::text[], :versions::bigint[], :write_counts::bigint[],
                          :deleted::boolean[], :created_at::timestamptz[], :updated_at::timestamptz[],
                          :command_ids::bigint[])
                   as b(key, value, version, write_count, deleted, created_at, updated_at, last_command_id)
             where {scope}
             order by b.key
            on conflict (key) do update
               set value = case when {newer} then excluded.value else r.value end,
                   version = case when {newer} then excluded.version else r.version end,
                   write_count = case when {newer} then excluded.write_count else r.write_count end,
                   deleted = case when {newer} then excluded.deleted else r.deleted end,
                   updated_at = case when {newer} then excluded.updated_at else r.updated_at end,
                   last_command_id = case when {newer} then excluded.last_command_id else r.last_command_id end,
                   created_at = least(r.created_at, excluded.created_at)
             where {newer} or excluded.created_at < r.created_at
            """.replace("{scope}", Scope.condition("b.key")).replace(
            "{newer}",
            "(r.version < excluded.version or r.version = excluded.version"
                    + " and (r.write_count, r.deleted) is distinct from (excluded.write_count, excluded.deleted))");

    /**
     * Merges rows into the shadow, those in scope only, with the projection's version guard: a row replaces the
     * shadow's when its version is newer, or when at the same version it carries another state. Whatever its version,
     * an earlier creation time is kept (as the projection backdates a row on a late event): an event may reach the
     * shadow before the copy of its key, and the copy, read a moment earlier, then brings an older version but the
     * key's real creation time, its first command's. So copy and events may arrive in any order: the highest version
     * wins, and the earliest creation time.
     *
     * @param rows the projection's upsert parameters, one array per column: keys, values, versions, write counts,
     *     deletion flags, creation and update times (ISO-8601 texts), last command ids
     */
    public void upsert(JdbcClient jdbc, Object[] rows) {
        bindRows(scope.bind(jdbc.sql(UPSERT.replace("{table}", table))), rows).update();
    }

    /**
     * Binds the rows' columns (one array per column, in {@link #upsert}'s order) to the named parameters the shadow's
     * statements read them from: {@code :keys}, {@code :values}, {@code :versions}, {@code :write_counts},
     * {@code :deleted}, {@code :created_at}, {@code :updated_at}, {@code :command_ids}.
     */
    static JdbcClient.StatementSpec bindRows(JdbcClient.StatementSpec statement, Object[] rows) {
        return statement
                .param("keys", rows[0])
                .param("values", rows[1])
                .param("versions", rows[2])
                .param("write_counts", rows[3])
                .param("deleted", rows[4])
                .param("created_at", rows[5])
                .param("updated_at", rows[6])
                .param("command_ids", rows[7]);
    }
}
