package io.cqrs.projector.rebuild;

import java.sql.ResultSet;
import java.sql.SQLException;

/** What one side holds for a key, as the verification compares it (the reconciliation's fields). */
record KeyRow(String key, long version, long writeCount, boolean deleted) {

    /** The row at the result set's cursor; both databases name the columns alike. */
    static KeyRow of(ResultSet rs) throws SQLException {
        return new KeyRow(
                rs.getString("key"), rs.getLong("version"), rs.getLong("write_count"), rs.getBoolean("deleted"));
    }

    boolean sameStateAs(KeyRow other) {
        return version == other.version && writeCount == other.writeCount && deleted == other.deleted;
    }
}
