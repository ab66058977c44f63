package io.cqrs.projector.rebuild;

import java.sql.Types;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The keys a rebuild covers: from {@code fromKey} (inclusive) to {@code toKey} (exclusive), starting with
 * {@code prefix}; each null means unbounded, all three null means every key. Keys compare in the database's order (its
 * collation, the order of the primary keys), never Java's: every test of a key against a scope is SQL.
 */
public record Scope(
        @Nullable String fromKey,
        @Nullable String toKey,
        @Nullable String prefix) {

    static final Scope ALL = new Scope(null, null, null);

    /**
     * The SQL condition that {@code column} is in the scope, with the named parameters {@code scope_from},
     * {@code scope_to} and {@code scope_prefix} (see {@link #bind}). With plans made for the values at hand, the
     * bounds that are null fall away and those that are not use the key's index.
     */
    static String condition(String column) {
        return "(:scope_from::text is null or " + column + " >= :scope_from)"
                + " and (:scope_to::text is null or " + column + " < :scope_to)"
                + " and (:scope_prefix::text is null or starts_with(" + column + ", :scope_prefix))";
    }

    /** The statement with this scope's parameters bound, for a {@link #condition}. */
    JdbcClient.StatementSpec bind(JdbcClient.StatementSpec statement) {
        return statement
                .param("scope_from", fromKey, Types.VARCHAR)
                .param("scope_to", toKey, Types.VARCHAR)
                .param("scope_prefix", prefix, Types.VARCHAR);
    }

    boolean isAll() {
        return fromKey == null && toKey == null && prefix == null;
    }

    /** As the endpoint shows it and the audit records it: the bounds that are set. */
    Map<String, String> asMap() {
        var map = new LinkedHashMap<String, String>();
        if (prefix != null) {
            map.put("prefix", prefix);
        }
        if (fromKey != null) {
            map.put("from_key", fromKey);
        }
        if (toKey != null) {
            map.put("to_key", toKey);
        }
        return map;
    }

    @Override
    public String toString() {
        return isAll() ? "every key" : asMap().toString();
    }
}
