package io.cqrs.projector.rebuild;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A key's read-model row as the write database says it should be: {@code key_state} and the command that made its
 * current version (its value, its {@code created_at} as the update time, its id as the last command), created when
 * the key's first command was.
 */
record CopiedRow(
        String key,
        @Nullable String value,
        long version,
        long writeCount,
        boolean deleted,
        Instant createdAt,
        Instant updatedAt,
        long lastCommandId) {

    static CopiedRow of(ResultSet rs) throws SQLException {
        return new CopiedRow(
                rs.getString("key"),
                rs.getString("value"),
                rs.getLong("version"),
                rs.getLong("write_count"),
                rs.getBoolean("deleted"),
                rs.getObject("created_at", OffsetDateTime.class).toInstant(),
                rs.getObject("updated_at", OffsetDateTime.class).toInstant(),
                rs.getLong("last_command_id"));
    }

    /** The rows as the projection's upsert takes them (see {@link ShadowTarget#upsert}). */
    static Object[] parameters(List<CopiedRow> rows) {
        int n = rows.size();
        var keys = new String[n];
        var values = new String[n];
        var versions = new long[n];
        var writeCounts = new long[n];
        var deleted = new boolean[n];
        var createdAt = new String[n];
        var updatedAt = new String[n];
        var commandIds = new long[n];
        for (int i = 0; i < n; i++) {
            CopiedRow row = rows.get(i);
            keys[i] = row.key();
            values[i] = row.value();
            versions[i] = row.version();
            writeCounts[i] = row.writeCount();
            deleted[i] = row.deleted();
            createdAt[i] = row.createdAt().toString();
            updatedAt[i] = row.updatedAt().toString();
            commandIds[i] = row.lastCommandId();
        }
        return new Object[] {keys, values, versions, writeCounts, deleted, createdAt, updatedAt, commandIds};
    }
}
