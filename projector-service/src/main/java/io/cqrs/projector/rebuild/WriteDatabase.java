package io.cqrs.projector.rebuild;

import com.zaxxer.hikari.HikariDataSource;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The write database as the rebuild reads it, the source of truth: {@code key_state} and, for each key, the command
 * that made its current version and the key's first command. Read only, with a login that may do nothing else. Ranges
 * are {@code (after, upTo]} in the database's key order, within a {@link Scope}; {@code after} is {@code ''} for the
 * first (keys are never empty) and {@code upTo} null for the last.
 */
class WriteDatabase implements AutoCloseable {

    /** Most bytes of keys and values one page of the copy carries (plus one row), whatever the page's key count. */
    static final long PAGE_MAX_BYTES = 4L * 1024 * 1024;

    private final HikariDataSource pool;
    private final JdbcClient jdbc;

    WriteDatabase(HikariDataSource pool) {
        this.pool = pool;
        this.jdbc = JdbcClient.create(pool);
    }

    @Override
    public void close() {
        pool.close();
    }

    /** How many keys the scope holds now: exact (the primary key's index, no rows read). */
    long count(Scope scope) {
        return scope.bind(jdbc.sql("select count(*) from key_state where " + Scope.condition("key")))
                .query(Long.class)
                .single();
    }

    // A key's row in the read model's terms. The creation time is the earliest of the key's commands, as the projection
    // keeps the earliest event it saw (commands of a key commit in version order, but their clocks are their
    // transactions' starts).
    private static final String CREATED_AT =
            "(select min(f.created_at) from commands f where f.key = z.key) as created_at";

    /**
     * The next keys after {@code after} in scope, in key order: at most {@code limit}, and no more than
     * {@link #PAGE_MAX_BYTES} of keys and values (at least one key), so that a page of large values stays small.
     */
    List<CopiedRow> page(Scope scope, String after, int limit) {
        return scope.bind(jdbc.sql("""
                                with page as (
                                    select s.key, s.version, s.write_count, s.deleted, c.value,
                                           c.created_at as updated_at, c.id as last_command_id,
                                           octet_length(s.key) + coalesce(octet_length(c.value), 0) + 64 as bytes
                                      from key_state s
                                      join commands c on c.key = s.key and c.version = s.version
                                     where s.key > :after and """ + Scope.condition("s.key") + """

                                     order by s.key
                                     limit :limit),
                                sized as (
                                    select p.*, sum(p.bytes) over (order by p.key rows unbounded preceding) - p.bytes
                                           as before
                                      from page p)
                                select z.key, z.value, z.version, z.write_count, z.deleted, z.updated_at,
                                       z.last_command_id, """ + CREATED_AT + """

                                  from sized z
                                 where z.before < :max_bytes
                                 order by z.key
                                """))
                .param("after", after)
                .param("limit", limit)
                .param("max_bytes", PAGE_MAX_BYTES)
                .query((rs, row) -> CopiedRow.of(rs))
                .list();
    }

    /** The rows of {@code keys} (those the write database holds), to copy them again. */
    List<CopiedRow> rows(Collection<String> keys) {
        return jdbc.sql("""
                        select z.key, c.value, z.version, z.write_count, z.deleted, c.created_at as updated_at,
                               c.id as last_command_id, """ + CREATED_AT + """

                          from key_state z
                          join commands c on c.key = z.key and c.version = z.version
                         where z.key = any(:keys)
                         order by z.key
                        """)
                .param("keys", keys.toArray(String[]::new))
                .query((rs, row) -> CopiedRow.of(rs))
                .list();
    }

    /** The summary of the next {@code limit} keys in scope after {@code after}; {@code lastKey} ends that range. */
    RangeSummary summary(Scope scope, String after, int limit) {
        return scope.bind(jdbc.sql("with r as (select key, version, write_count, deleted from key_state"
                        + " where key > :after and " + Scope.condition("key") + " order by key limit :limit)"
                        + " select count(*), coalesce(sum(" + RangeSummary.KEY_HASH + "), 0)::text, max(key)"
                        + " from r"))
                .param("after", after)
                .param("limit", limit)
                .query((rs, row) -> new RangeSummary(rs.getLong(1), rs.getString(2), rs.getString(3)))
                .single();
    }

    /** A key's state, and whether it may still be on its way to the read model. */
    record State(KeyRow row, boolean unsettled) {}

    /**
     * The states of the keys in scope in {@code (after, upTo]}, at most {@code limit} of them. A key is unsettled while
     * its latest command may still be on its way (as the reconciliation judges it): changed within {@code settle}, or
     * its event not yet on the stream or put there within {@code settle}.
     */
    Map<String, State> states(Scope scope, String after, @Nullable String upTo, int limit, Duration settle) {
        var states = new HashMap<String, State>();
        scope.bind(jdbc.sql("""
                                select s.key, s.version, s.write_count, s.deleted,
                                       s.updated_at > now() - :settle::interval
                                       or o.command_id is not null
                                          and (o.published_at is null or o.published_at > now() - :settle::interval)
                                       as unsettled
                                  from key_state s
                                  left join commands c on c.key = s.key and c.version = s.version
                                  left join outbox o on o.command_id = c.id
                                 where s.key > :after""" + (upTo == null ? "" : " and s.key <= :up_to") + " and "
                        + Scope.condition("s.key") + " order by s.key limit :limit"))
                .param("settle", settle.toMillis() + " milliseconds")
                .param("after", after)
                .param("up_to", upTo)
                .param("limit", limit)
                .query(rs -> {
                    var row = KeyRow.of(rs);
                    states.put(row.key(), new State(row, rs.getBoolean("unsettled")));
                });
        return states;
    }
}
