package io.cqrs.read.query;

import java.time.OffsetDateTime;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** Primary-key reads of {@code records}, tombstones included. */
@Repository
class RecordRepository {

    private final JdbcClient jdbc;

    RecordRepository(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    Optional<StoredRecord> find(String key) {
        return jdbc.sql("""
                        select key, value, version, write_count, read_count, deleted, created_at, updated_at
                        from records where key = ?
                        """)
                .param(key)
                .query((row, n) -> new StoredRecord(
                        row.getString("key"),
                        row.getString("value"),
                        row.getLong("version"),
                        row.getLong("write_count"),
                        row.getLong("read_count"),
                        row.getBoolean("deleted"),
                        row.getObject("created_at", OffsetDateTime.class).toInstant(),
                        row.getObject("updated_at", OffsetDateTime.class).toInstant()))
                .optional();
    }
}
