package io.cqrs.write.command;

import io.cqrs.write.command.GroupPlan.NumberedCommand;
import io.cqrs.write.command.PendingUnit.IdempotencyClaim;
import java.sql.Array;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.RowCallbackHandler;
import org.springframework.jdbc.core.namedparam.NamedParameterJdbcOperations;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/**
 * The write database's commands, key states and idempotency keys, written set-based: one statement per table per
 * group, whatever the group's size.
 */
@Repository
class CommandRepository {

    private final JdbcClient jdbc;
    private final NamedParameterJdbcOperations statements;

    CommandRepository(JdbcClient jdbc, NamedParameterJdbcOperations statements) {
        this.jdbc = jdbc;
        this.statements = statements;
    }

    /**
     * The states of {@code keys} that exist, locked for this transaction in key order (so groups never deadlock), and
     * the version floors of those the reconciliation found ahead in the read model.
     *
     * <p>When some of the keys are new, the transaction first takes the write database's key-creation lock, held until
     * it commits, and reads those keys again: a concurrent transaction may have created them while this one waited, and
     * then they are locked like any existing key. Without it, groups that create the same new keys at the same time
     * (a bulk load of fresh keys through several committers or instances) collide on {@code commands(key, version)}
     * or wait for each other's inserts, again at every retry. Only groups with new keys take it, one after the other.
     * (Groups of writes only do not lock first: {@link #storeWrites} creates their keys with ON CONFLICT DO UPDATE.)
     */
    LockedStates lockStates(Collection<String> keys) {
        var locked = lockExisting(keys, true);
        if (locked.states().size() < keys.size()) {
            var missing = keys.stream()
                    .filter(key -> !locked.states().containsKey(key))
                    .toArray(String[]::new);
            jdbc.sql("select pg_advisory_xact_lock(:lock)")
                    .param("lock", KEY_CREATION_LOCK)
                    .query((rs, row) -> row)
                    .list();
            locked.states().putAll(lockExisting(List.of(missing), false).states());
        }
        return locked;
    }

    /** The advisory lock (transaction scope) a group holds while it creates keys; an arbitrary constant of ours. */
    static final long KEY_CREATION_LOCK = 0x6371_7273_6b65_7973L; // "cqrskeys"

    private LockedStates lockExisting(Collection<String> keys, boolean withFloors) {
        var states = new HashMap<String, KeyState>();
        var floors = new HashMap<String, Long>();
        jdbc.sql("""
                        with locked as (
                            select key, version, write_count, deleted from key_state
                            where key = any(:keys) order by key for update)
                        select key, version, write_count, deleted, null::bigint as floor from locked
                        union all
                        select key, 0, 0, false, read_version from divergences
                        where :withFloors and kind = 'ahead' and key = any(:keys)
                        """)
                .param("keys", keys.toArray(String[]::new))
                .param("withFloors", withFloors)
                .query(rs -> {
                    long floor = rs.getLong("floor");
                    if (rs.wasNull()) {
                        var state = keyState(rs);
                        states.put(state.key(), state);
                    } else {
                        floors.put(rs.getString("key"), floor);
                    }
                });
        return new LockedStates(states, floors);
    }

    /**
     * @param floors per key, a version the next command must exceed: the read model holds it although this database
     *     never reached it (restored from a backup), and an event at or below it would be discarded as stale
     */
    record LockedStates(Map<String, KeyState> states, Map<String, Long> floors) {}

    /** Number of rows the totals are spread over, so that concurrent transactions do not queue on one row. */
    static final int TOTALS_SLOTS = 16;

    // Everything a group writes after its key states are locked, in one statement (one round trip): the commands, their
    // outbox rows (due for the sweeper after the relay's head start), the new and changed key states and the totals
    // slot. Data-modifying CTEs all run, whether or not the final select reads them. A key another transaction created
    // meanwhile fails the statement (a unique violation) and the group is retried; so the statement can carry the
    // transaction's commit with it, nothing has to be checked after it.
    private static final String STORE = """
            with stored as (
                     insert into commands (key, version, op, value, write_count, idempotency_key)
                     select * from unnest(:keys::text[], :versions::bigint[], :ops::text[], :values::text[],
                                          :writeCounts::bigint[], :idempotencyKeys::text[])
                     returning id, key, version, created_at),
                 queued as (%s),
                 created as (
                     insert into key_state (key, version, write_count, deleted, updated_at)
                     select k, v, w, d, now()
                     from unnest(:newKeys::text[], :newVersions::bigint[], :newWriteCounts::bigint[],
                                 :newDeleted::boolean[]) as s(k, v, w, d)),
                 changed as (
                     update key_state set version = s.v, write_count = s.w, deleted = s.d, updated_at = now()
                     from unnest(:changedKeys::text[], :changedVersions::bigint[], :changedWriteCounts::bigint[],
                                 :changedDeleted::boolean[]) as s(k, v, w, d)
                     where key_state.key = s.k),
                 totals as (
                     update write_totals
                     set commands = commands + :commands, writes = writes + :writes, deletes = deletes + :deletes
                     where slot = :totalsSlot)
            select id, key, version, created_at from stored
            """;

    private static final String STORE_GROUP = STORE.formatted("""
            insert into outbox (command_id, next_attempt_at)
            select id, now() + :outboxDelay::interval from stored""");

    // For a group with a traced request: each outbox row takes its command's trace context, joined by key and version
    // (unique within a group). A statement of its own, so that untraced groups, the rule, pay nothing for it.
    private static final String STORE_TRACED_GROUP = STORE.formatted("""
            insert into outbox (command_id, next_attempt_at, traceparent)
            select s.id, now() + :outboxDelay::interval, t.tp
            from stored s
            join unnest(:keys::text[], :versions::bigint[], :traceparents::text[]) as t(k, v, tp)
              on t.k = s.key and t.v = s.version""");

    /**
     * Stores a group's commands with their outbox rows, key states and totals; returns the commands with their ids and
     * the transaction's timestamp, in the given order.
     *
     * @param newKeys states of keys seen for the first time
     * @param changedKeys new states of keys that exist (locked by {@link #lockStates})
     * @param outboxDelay how long the outbox rows are left to the relay before the sweeper may take them
     * @param commit whether the statement commits the transaction (one round trip fewer): only when the transaction is
     *     the group's own and nothing follows the statement in it
     * @throws DuplicateKeyException if another transaction created one of {@code newKeys} meanwhile; retry the group
     */
    List<StoredCommand> store(
            List<NumberedCommand> commands,
            List<KeyState> newKeys,
            List<KeyState> changedKeys,
            int totalsSlot,
            Duration outboxDelay,
            boolean commit) {
        int n = commands.size();
        var keys = new String[n];
        var versions = new long[n];
        var ops = new String[n];
        var values = new String[n];
        var writeCounts = new long[n];
        var idempotencyKeys = new String[n];
        String[] traceparents = null;
        long writes = 0;
        for (int i = 0; i < n; i++) {
            var c = commands.get(i);
            keys[i] = c.command().key();
            versions[i] = c.version();
            ops[i] = c.command().op().label();
            values[i] = c.command().value();
            writeCounts[i] = c.writeCount();
            idempotencyKeys[i] = c.idempotencyKey();
            if (c.traceparent() != null) {
                if (traceparents == null) {
                    traceparents = new String[n];
                }
                traceparents[i] = c.traceparent();
            }
            writes += c.command().op() == Command.Op.WRITE ? 1 : 0;
        }
        Map<String, Object> parameters = new HashMap<>(32);
        parameters.put("keys", keys);
        parameters.put("versions", versions);
        parameters.put("ops", ops);
        parameters.put("values", values);
        parameters.put("writeCounts", writeCounts);
        parameters.put("idempotencyKeys", idempotencyKeys);
        parameters.put("outboxDelay", interval(outboxDelay));
        stateColumns("new", newKeys, parameters);
        stateColumns("changed", changedKeys, parameters);
        parameters.put("commands", (long) n);
        parameters.put("writes", writes);
        parameters.put("deletes", n - writes);
        parameters.put("totalsSlot", totalsSlot);
        if (traceparents != null) {
            parameters.put("traceparents", traceparents);
        }
        Map<String, Map<Long, Long>> ids = new HashMap<>();
        var createdAt = new Instant[1];
        execute(traceparents == null ? STORE_GROUP : STORE_TRACED_GROUP, parameters, commit, rs -> {
            ids.computeIfAbsent(rs.getString("key"), k -> new HashMap<>()).put(rs.getLong("version"), rs.getLong("id"));
            createdAt[0] = rs.getTimestamp("created_at").toInstant();
        });
        var stored = new ArrayList<StoredCommand>(n);
        for (var c : commands) {
            long id = ids.get(c.command().key()).get(c.version());
            stored.add(new StoredCommand(id, c.command(), c.version(), c.writeCount(), createdAt[0], null));
        }
        return stored;
    }

    // A group of writes only, numbered by the database as it moves the key states on: one statement in all, where a
    // group that may hold a delete locks the states first and is numbered by GroupPlan (a delete of a key without a
    // live record writes nothing, which only the locked state tells). Each key's state moves on by its number of writes
    // in the group, above the key's floor where the read model is ahead (the rule of KeyState.after): a new key is
    // inserted, an existing one updated, atomically either way (ON CONFLICT DO UPDATE waits for a concurrent creator
    // and updates what it committed). Rows are taken in key order, as the lock takes them, so such groups never
    // deadlock; a group of the other kind creates its new keys after locking the existing ones, so it can deadlock with
    // one of these over a key both create at the same moment, and PostgreSQL then fails one of them, which is retried.
    // The n writes of a key in the group get versions base + 1 .. base + n in arrival order, base being the version
    // the update moved on from.
    private static final String STORE_WRITES = """
            with input as (
                     select * from unnest(:keys::text[], :values::text[], :idempotencyKeys::text[])
                                   with ordinality as i(key, value, idempotency_key, ord)),
                 per_key as (
                     select key, count(*) as n from input group by key),
                 moved as (
                     insert into key_state as s (key, version, write_count, deleted, updated_at)
                     select p.key, coalesce(d.read_version, 0) + p.n, p.n, false, now()
                     from per_key p left join divergences d on d.key = p.key and d.kind = 'ahead'
                     order by p.key
                     on conflict (key) do update
                     set version = greatest(s.version, excluded.version - excluded.write_count) + excluded.write_count,
                         write_count = s.write_count + excluded.write_count, deleted = false, updated_at = now()
                     returning s.key, s.version, s.write_count),
                 numbered as (
                     select i.ord, i.key, i.value, i.idempotency_key,
                            m.version - p.n + row_number() over w as version,
                            m.write_count - p.n + row_number() over w as write_count
                     from input i join per_key p on p.key = i.key join moved m on m.key = i.key
                     window w as (partition by i.key order by i.ord)),
                 stored as (
                     insert into commands (key, version, op, value, write_count, idempotency_key)
                     select key, version, 'write', value, write_count, idempotency_key from numbered order by ord
                     returning id, key, version, created_at),
                 queued as (
                     insert into outbox (command_id, next_attempt_at)
                     select id, now() + :outboxDelay::interval from stored),
                 totals as (
                     update write_totals set commands = commands + :commands, writes = writes + :commands
                     where slot = :totalsSlot)
            select n.ord, s.id, s.version, n.write_count, s.created_at
            from stored s join numbered n on n.key = s.key and n.version = s.version
            """;

    /**
     * Stores a group of writes with their outbox rows, key states and totals, numbering them as it goes; returns them
     * with their ids, versions and write counts and the transaction's timestamp, in the given order.
     *
     * @param idempotencyKeys per command, the Idempotency-Key of the request that sent it, or null
     * @param commit whether the statement commits the transaction, as for {@link #store}
     */
    List<StoredCommand> storeWrites(
            List<Command> commands,
            List<@Nullable String> idempotencyKeys,
            int totalsSlot,
            Duration outboxDelay,
            boolean commit) {
        int n = commands.size();
        var keys = new String[n];
        var values = new String[n];
        for (int i = 0; i < n; i++) {
            keys[i] = commands.get(i).key();
            values[i] = commands.get(i).value();
        }
        Map<String, Object> parameters = HashMap.newHashMap(6);
        parameters.put("keys", keys);
        parameters.put("values", values);
        parameters.put("idempotencyKeys", idempotencyKeys.toArray(String[]::new));
        parameters.put("outboxDelay", interval(outboxDelay));
        parameters.put("commands", (long) n);
        parameters.put("totalsSlot", totalsSlot);
        var stored = new StoredCommand[n];
        execute(STORE_WRITES, parameters, commit, rs -> {
            int i = rs.getInt("ord") - 1;
            stored[i] = new StoredCommand(
                    rs.getLong("id"),
                    commands.get(i),
                    rs.getLong("version"),
                    rs.getLong("write_count"),
                    rs.getTimestamp("created_at").toInstant(),
                    null);
        });
        return Arrays.asList(stored);
    }

    // With the commit: PgJDBC sends both in one round trip and, finding no transaction open afterwards, sends nothing
    // when the transaction manager commits. A failing statement makes PostgreSQL skip the commit, and the manager rolls
    // back as ever.
    private void execute(String sql, Map<String, Object> parameters, boolean commit, RowCallbackHandler rows) {
        statements.execute(commit ? sql + ";\ncommit" : sql, parameters, (PreparedStatement statement) -> {
            statement.execute();
            try (ResultSet rs = statement.getResultSet()) {
                while (rs.next()) {
                    rows.processRow(rs);
                }
            }
            return null;
        });
    }

    private static String interval(Duration duration) {
        return duration.toMillis() + " milliseconds";
    }

    /**
     * Takes the Idempotency-Keys of a group for it; returns the keys another request already holds. Waits for a
     * concurrent transaction that inserted one of them, so two instances never both apply the same request.
     */
    Set<String> claimIdempotencyKeys(List<IdempotencyClaim> claims) {
        if (claims.isEmpty()) {
            return Set.of();
        }
        var taken = new HashSet<String>();
        claims.forEach(c -> taken.add(c.key()));
        jdbc.sql("""
                        insert into idempotency_keys (idempotency_key, request_hash, command_ids)
                        select k, h, '{}' from unnest(?::text[], ?::text[]) as c(k, h)
                        on conflict do nothing
                        returning idempotency_key
                        """)
                .params(
                        claims.stream().map(IdempotencyClaim::key).toArray(String[]::new),
                        claims.stream().map(IdempotencyClaim::requestHash).toArray(String[]::new))
                .query(rs -> {
                    taken.remove(rs.getString(1));
                });
        return taken;
    }

    void completeIdempotencyKey(String idempotencyKey, long[] commandIds) {
        jdbc.sql("update idempotency_keys set command_ids = ? where idempotency_key = ?")
                .params(commandIds, idempotencyKey)
                .update();
    }

    /** Forgets a claim whose request wrote nothing, so that a retry is judged afresh. */
    void releaseIdempotencyKey(String idempotencyKey) {
        jdbc.sql("delete from idempotency_keys where idempotency_key = ?")
                .param(idempotencyKey)
                .update();
    }

    Optional<IdempotentRequest> findIdempotencyKey(String idempotencyKey) {
        return jdbc.sql("select request_hash, command_ids from idempotency_keys where idempotency_key = ?")
                .param(idempotencyKey)
                .query((rs, row) -> new IdempotentRequest(rs.getString(1), longs(rs.getArray(2))))
                .optional();
    }

    /** The commands with these ids, with the stream ids of their published events, in the order of {@code ids}. */
    List<StoredCommand> findCommands(long[] ids) {
        Map<Long, StoredCommand> byId = new HashMap<>();
        jdbc.sql("""
                        select c.id, c.key, c.version, c.op, c.value, c.write_count, c.created_at, o.stream_id
                        from commands c left join outbox o on o.command_id = c.id
                        where c.id = any(?)
                        """).param(ids).query(rs -> {
            var op = Command.Op.valueOf(rs.getString("op").toUpperCase(java.util.Locale.ROOT));
            var command = new Command(op, rs.getString("key"), rs.getString("value"));
            Timestamp createdAt = rs.getTimestamp("created_at");
            byId.put(
                    rs.getLong("id"),
                    new StoredCommand(
                            rs.getLong("id"),
                            command,
                            rs.getLong("version"),
                            rs.getLong("write_count"),
                            createdAt.toInstant(),
                            rs.getString("stream_id")));
        });
        return Arrays.stream(ids).mapToObj(byId::get).toList();
    }

    /** Deletes Idempotency-Keys older than the retention window, at most {@code limit} at a time. */
    int deleteIdempotencyKeysOlderThan(Duration retention, int limit) {
        return jdbc.sql("""
                        delete from idempotency_keys where idempotency_key in (
                            select idempotency_key from idempotency_keys
                            where created_at < now() - ?::interval limit ?)
                        """).params(interval(retention), limit).update();
    }

    record IdempotentRequest(String requestHash, long[] commandIds) {}

    private static void stateColumns(String prefix, List<KeyState> states, Map<String, Object> parameters) {
        parameters.put(prefix + "Keys", states.stream().map(KeyState::key).toArray(String[]::new));
        parameters.put(
                prefix + "Versions",
                states.stream().mapToLong(KeyState::version).toArray());
        parameters.put(
                prefix + "WriteCounts",
                states.stream().mapToLong(KeyState::writeCount).toArray());
        parameters.put(
                prefix + "Deleted", states.stream().map(KeyState::deleted).toArray(Boolean[]::new));
    }

    private static KeyState keyState(ResultSet rs) throws SQLException {
        return new KeyState(
                rs.getString("key"), rs.getLong("version"), rs.getLong("write_count"), rs.getBoolean("deleted"));
    }

    private static long[] longs(Array array) throws SQLException {
        Long[] values = (Long[]) array.getArray();
        return Arrays.stream(values).mapToLong(Long::longValue).toArray();
    }
}
