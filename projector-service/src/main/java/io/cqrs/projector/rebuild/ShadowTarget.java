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

    /**
     * Merges rows into the shadow, those in scope only, with the projection's version guard: a row replaces the
     * shadow's when its version is newer, or when at the same version it carries another state or an earlier creation
     * time. So the copy from the write database and the events of the stream can arrive in any order: the highest
     * version wins, and the key's first command gives its creation time.
     *
     * @param rows the projection's upsert parameters, one array per column: keys, values, versions, write counts,
     *     deletion flags, creation and update times (ISO-8601 texts), last command ids
     */
    public void upsert(JdbcClient jdbc, Object[] rows) {
        scope.bind(jdbc.sql("insert into " + table + """
                         as r (key, value, version, write_count, deleted, created_at, updated_at, last_command_id)
                        select b.key, b.value, b.version, b.write_count, b.deleted, b.created_at, b.updated_at,
                               b.last_command_id
                          from unnest(:keys::text[], :values::text[], :versions::bigint[], :write_counts::bigint[],
                                      :deleted::boolean[], :created_at::timestamptz[], :updated_at::timestamptz[],
                                      :command_ids::bigint[])
                               as b(key, value, version, write_count, deleted, created_at, updated_at,
                                    last_command_id)
                         where """ + Scope.condition("b.key") + """

                         order by b.key
                        on conflict (key) do update
                           set value = excluded.value,
                               version = excluded.version,
                               write_count = excluded.write_count,
                               deleted = excluded.deleted,
                               created_at = least(r.created_at, excluded.created_at),
                               updated_at = excluded.updated_at,
                               last_command_id = excluded.last_command_id
                         where r.version < excluded.version
                            or r.version = excluded.version
                               and (r.write_count, r.deleted, r.created_at)
                                   is distinct from (excluded.write_count, excluded.deleted,
                                                     least(r.created_at, excluded.created_at))
                        """))
                .param("keys", rows[0])
                .param("values", rows[1])
                .param("versions", rows[2])
                .param("write_counts", rows[3])
                .param("deleted", rows[4])
                .param("created_at", rows[5])
                .param("updated_at", rows[6])
                .param("command_ids", rows[7])
                .update();
    }
}
