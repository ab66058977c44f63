package io.cqrs.write.reconcile;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The read model's {@code records}, as the reconciliation sees them: summaries and rows of key ranges, read only.
 * Ranges are {@code (after, upTo]} in the database's key order; {@code after} is {@code ''} for the first range (keys
 * are never empty) and {@code upTo} null for the last.
 */
class ReadModel {

    private final JdbcClient jdbc;

    ReadModel(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /**
     * The summary of the first {@code limit} keys of {@code (after, upTo]}; {@code lastKey} is the last of them. When
     * it holds {@code limit} keys and does not end at {@code upTo}, the range holds more than that.
     */
    RangeSummary summary(String after, @Nullable String upTo, int limit) {
        return jdbc.sql("with r as (select key, version, write_count, deleted from records where key > :after"
                        + (upTo == null ? "" : " and key <= :upTo") + " order by key limit :limit)"
                        + " select count(*), coalesce(sum(" + RangeSummary.KEY_HASH + "), 0)::text, max(key) from r")
                .param("after", after)
                .param("upTo", upTo)
                .param("limit", limit)
                .query((rs, row) -> new RangeSummary(rs.getLong(1), rs.getString(2), rs.getString(3)))
                .single();
    }

    Map<String, KeyRow> rows(String after, @Nullable String upTo) {
        return rows(jdbc.sql("select key, version, write_count, deleted from records where key > :after"
                        + (upTo == null ? "" : " and key <= :upTo"))
                .param("after", after)
                .param("upTo", upTo));
    }

    Map<String, KeyRow> rows(Collection<String> keys) {
        return rows(jdbc.sql("select key, version, write_count, deleted from records where key = any(:keys)")
                .param("keys", keys.toArray(String[]::new)));
    }

    private static Map<String, KeyRow> rows(JdbcClient.StatementSpec statement) {
        var rows = new HashMap<String, KeyRow>();
        statement.query(rs -> {
            var row = KeyRow.of(rs);
            rows.put(row.key(), row);
        });
        return rows;
    }
}
