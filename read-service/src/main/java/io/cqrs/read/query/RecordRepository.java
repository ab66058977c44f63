package io.cqrs.read.query;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Primary-key reads of {@code records}, tombstones included, and the most read keys for the near cache's warm-up. */
@Repository
class RecordRepository {

    private final JdbcClient jdbc;

    RecordRepository(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    Optional<StoredRecord> find(String key) {
        return jdbc.sql("select " + COLUMNS + " from records where key = ?")
                .param(key)
                .query((row, n) -> storedRecord(row))
                .optional();
    }

    /** The rows of those of {@code keys} that exist, tombstones included, by key. */
    Map<String, StoredRecord> findAll(List<String> keys) {
        var found = new HashMap<String, StoredRecord>();
        jdbc.sql("select " + COLUMNS + " from records where key = any(?::text[])")
                .param(keys.toArray(String[]::new))
                .query(row -> {
                    var record = storedRecord(row);
                    found.put(record.key(), record);
                });
        return found;
    }

    /**
     * The keys of live records, most read first, as many as fit in {@code maxBytes} at the near cache's estimate (two
     * bytes per character, the key counted twice, as the cache's key and in its record, and {@code entryBytes} more per
     * entry) and at most {@code maxKeys}: one sort of the table, and a list no larger than the cache it is meant for.
     */
    List<String> mostRead(int maxKeys, long maxBytes, int entryBytes) {
        return jdbc.sql("""
                        select key from (
                            select key, sum(4 * length(key) + 2 * length(value) + ?) over (
                                       order by read_count desc, key rows unbounded preceding) as running_bytes
                              from records where not deleted) as ranked
                         where running_bytes <= ?
                         order by running_bytes
                         limit ?
                        """)
                .params(entryBytes, maxBytes, maxKeys)
                .query(String.class)
                .list();
    }

    private static final String COLUMNS =
            "key, value, version, write_count, read_count, deleted, created_at, updated_at";

    private static StoredRecord storedRecord(ResultSet row) throws SQLException {
        return new StoredRecord(
                row.getString("key"),
                row.getString("value"),
                row.getLong("version"),
                row.getLong("write_count"),
                row.getLong("read_count"),
                row.getBoolean("deleted"),
                row.getObject("created_at", OffsetDateTime.class).toInstant(),
                row.getObject("updated_at", OffsetDateTime.class).toInstant());
    }
}
