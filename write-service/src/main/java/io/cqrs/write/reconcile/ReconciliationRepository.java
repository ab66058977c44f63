package io.cqrs.write.reconcile;

import io.cqrs.write.reconcile.Divergence.Kind;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/**
 * The write database's side of the reconciliation: {@code key_state} ranges, the pass checkpoint, the known
 * divergences, and the repair (the key's latest command back into the outbox).
 */
@Repository
class ReconciliationRepository {

    private final JdbcClient jdbc;

    ReconciliationRepository(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** Where the pass stands; empty when another instance holds the checkpoint right now (it does this step). */
    Optional<Checkpoint> lockCheckpoint() {
        return jdbc.sql("""
                        select next_after, pass_started_at, last_pass_finished_at, now() as now
                        from reconciliation for update skip locked
                        """)
                .query((rs, row) -> new Checkpoint(
                        rs.getString("next_after"),
                        instant(rs.getTimestamp("pass_started_at")),
                        instant(rs.getTimestamp("last_pass_finished_at")),
                        rs.getTimestamp("now").toInstant()))
                .optional();
    }

    /**
     * @param nextAfter the last key the pass has checked, null before its first range
     * @param passStartedAt when the running pass began, null outside a pass
     * @param lastPassFinishedAt when the last whole pass ended, null before the first
     * @param now the database's clock
     */
    record Checkpoint(
            @Nullable String nextAfter,
            @Nullable Instant passStartedAt,
            @Nullable Instant lastPassFinishedAt,
            Instant now) {}

    void startPass() {
        jdbc.sql("update reconciliation set next_after = null, pass_keys = 0, pass_started_at = now()")
                .update();
    }

    /** Moves the checkpoint past a range of {@code keys} keys ending at {@code lastKey}. */
    void advance(String lastKey, long keys) {
        jdbc.sql("update reconciliation set next_after = ?, pass_keys = pass_keys + ?")
                .params(lastKey, keys)
                .update();
    }

    /** Ends the pass after its last range of {@code keys} keys; returns the pass's duration and keys. */
    FinishedPass finishPass(long keys) {
        return jdbc.sql("""
                        update reconciliation
                        set next_after = null, last_pass_finished_at = now(), last_pass_keys = pass_keys + ?,
                            last_pass_seconds = extract(epoch from now() - pass_started_at), pass_started_at = null,
                            pass_keys = 0
                        returning last_pass_seconds, last_pass_keys
                        """)
                .param(keys)
                .query((rs, row) -> new FinishedPass(rs.getDouble(1), rs.getLong(2)))
                .single();
    }

    record FinishedPass(double seconds, long keys) {}

    /** The summary of the next {@code limit} keys after {@code after}; {@code lastKey} is where that range ends. */
    RangeSummary summary(String after, int limit) {
        return jdbc.sql("with r as (select key, version, write_count, deleted from key_state where key > ?"
                        + " order by key limit ?) select count(*), coalesce(sum(" + RangeSummary.KEY_HASH
                        + "), 0)::text, max(key) from r")
                .params(after, limit)
                .query((rs, row) -> new RangeSummary(rs.getLong(1), rs.getString(2), rs.getString(3)))
                .single();
    }

    /** The summary of {@code (after, upTo]}, or everything after {@code after} when {@code upTo} is null. */
    RangeSummary summary(String after, @Nullable String upTo) {
        return jdbc.sql("select count(*), coalesce(sum(" + RangeSummary.KEY_HASH + "), 0)::text from key_state"
                        + " where key > :after" + (upTo == null ? "" : " and key <= :upTo"))
                .param("after", after)
                .param("upTo", upTo)
                .query((rs, row) -> new RangeSummary(rs.getLong(1), rs.getString(2), upTo))
                .single();
    }

    // A range's rows as the key states hold them, and which of them changed within the settle time: key_state alone.
    // Whether a key's latest event is still on its way through the outbox is asked for the keys that differ only
    // (onTheirWay): asked for every key of a range, it cost two index lookups per key in commands and outbox, the two
    // largest tables and mostly out of the cache under write load, 50-90 ms a range of 1,000 keys where key_state alone
    // took 1-2 ms, and under load every range differs by the keys in flight.
    private static final String ROWS = """
            select s.key, s.version, s.write_count, s.deleted, s.updated_at > now() - :settle::interval as recent
            from key_state s
            """;

    /**
     * The rows of {@code (after, upTo]} (everything after {@code after} when {@code upTo} is null), and which of them
     * the write database changed within {@code settle}.
     */
    Rows rows(String after, @Nullable String upTo, Duration settle) {
        return rows(jdbc.sql(ROWS + " where s.key > :after" + (upTo == null ? "" : " and s.key <= :upTo"))
                .param("settle", interval(settle))
                .param("after", after)
                .param("upTo", upTo));
    }

    Rows rows(Collection<String> keys, Duration settle) {
        return rows(jdbc.sql(ROWS + " where s.key = any(:keys)")
                .param("settle", interval(settle))
                .param("keys", keys.toArray(String[]::new)));
    }

    /** Key states, and the keys among them changed within the settle time. */
    record Rows(List<KeyRow> rows, Set<String> changedRecently) {}

    private static Rows rows(JdbcClient.StatementSpec statement) {
        var rows = new ArrayList<KeyRow>();
        var recent = new HashSet<String>();
        statement.query(rs -> {
            var row = KeyRow.of(rs);
            rows.add(row);
            if (rs.getBoolean("recent")) {
                recent.add(row.key());
            }
        });
        return new Rows(rows, recent);
    }

    /**
     * The keys of {@code rows} whose command at that version still has its event on the way to the read model: its
     * outbox row not yet published, or published within {@code settle} (a republication sets {@code published_at}
     * anew). A lookup per key in {@code commands} and {@code outbox}, however long the history: the parameter array is
     * planned as a few rows, so the plan, made once for any array, is a nested loop over the two indexes.
     */
    Set<String> onTheirWay(Collection<KeyRow> rows, Duration settle) {
        if (rows.isEmpty()) {
            return Set.of();
        }
        return new HashSet<>(jdbc.sql("""
                        select k.key
                        from unnest(:keys::text[], :versions::bigint[]) as k(key, version)
                        join commands c on c.key = k.key and c.version = k.version
                        join outbox o on o.command_id = c.id
                        where o.published_at is null or o.published_at > now() - :settle::interval
                        """)
                .param("keys", rows.stream().map(KeyRow::key).toArray(String[]::new))
                .param("versions", rows.stream().mapToLong(KeyRow::version).toArray())
                .param("settle", interval(settle))
                .query(String.class)
                .list());
    }

    /**
     * Records what a comparison of the keys in {@code (after, upTo]} found: its divergences replace the ones known in
     * that range, but for keys in flight, which stay as they were (a repair on its way is not yet a convergence).
     * Returns the divergences not known before (found anew, for the metrics).
     */
    List<Divergence> replaceDivergences(
            String after, @Nullable String upTo, List<Divergence> found, Collection<String> inFlight) {
        jdbc.sql("delete from divergences where key > :after" + (upTo == null ? "" : " and key <= :upTo")
                        + " and key <> all(:keep)")
                .param("after", after)
                .param("upTo", upTo)
                .param(
                        "keep",
                        Stream.concat(found.stream().map(Divergence::key), inFlight.stream())
                                .toArray(String[]::new))
                .update();
        return record(found);
    }

    /** Forgets the known divergences of {@code keys}: they compared equal again. */
    int forget(Collection<String> keys) {
        return jdbc.sql("delete from divergences where key = any(?)")
                .param(keys.toArray(String[]::new))
                .update();
    }

    /** Forgets the known divergences in {@code (after, upTo]}: the range's summaries are equal. */
    int forget(String after, @Nullable String upTo) {
        return jdbc.sql("delete from divergences where key > :after" + (upTo == null ? "" : " and key <= :upTo"))
                .param("after", after)
                .param("upTo", upTo)
                .update();
    }

    /** Inserts or updates {@code found}; returns those that were not known before. */
    List<Divergence> record(List<Divergence> found) {
        if (found.isEmpty()) {
            return List.of();
        }
        var known = new HashSet<>(jdbc.sql("select key from divergences where key = any(?)")
                .param(found.stream().map(Divergence::key).toArray(String[]::new))
                .query(String.class)
                .list());
        jdbc.sql("""
                        insert into divergences (key, kind, write_version, read_version)
                        select * from unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[])
                        on conflict (key) do update
                        set kind = excluded.kind, write_version = excluded.write_version,
                            read_version = excluded.read_version
                        """)
                .params(
                        found.stream().map(Divergence::key).toArray(String[]::new),
                        found.stream().map(d -> d.kind().label()).toArray(String[]::new),
                        found.stream().map(Divergence::writeVersion).toArray(Long[]::new),
                        found.stream().map(Divergence::readVersion).toArray(Long[]::new))
                .update();
        return found.stream().filter(d -> !known.contains(d.key())).toList();
    }

    /**
     * Puts the latest command of each repairable key of {@code keys} back into the outbox, due now, unless it was put
     * there within {@code backoff} (its event may still be on its way); returns the keys republished.
     */
    List<String> republish(Collection<String> keys, Duration backoff) {
        return jdbc.sql("""
                        with due as (
                                 select d.key, d.kind from divergences d
                                 where d.key = any(:keys) and d.kind <> 'ahead'
                                   and (d.repaired_at is null or d.repaired_at < now() - :backoff::interval)
                                 order by d.key for update of d),
                             queued as (
                                 insert into outbox (command_id, next_attempt_at, last_error)
                                 select c.id, now(), 'republished by reconciliation: ' || due.kind
                                 from due join key_state s on s.key = due.key
                                          join commands c on c.key = s.key and c.version = s.version
                                 on conflict (command_id) do update
                                 set published_at = null, stream_id = null, next_attempt_at = now(),
                                     last_error = excluded.last_error
                                 returning command_id),
                             republished as (
                                 select c.key from queued q join commands c on c.id = q.command_id),
                             marked as (
                                 update divergences set repaired_at = now(), repairs = repairs + 1
                                 from republished r where divergences.key = r.key)
                        select key from republished
                        """)
                .param("keys", keys.toArray(String[]::new))
                .param("backoff", interval(backoff))
                .query(String.class)
                .list();
    }

    /** Up to {@code limit} known divergences, in key order. */
    List<String> knownDivergences(int limit) {
        return jdbc.sql("select key from divergences order by key limit ?")
                .param(limit)
                .query(String.class)
                .list();
    }

    /** How many divergences are known, per kind. */
    Map<Kind, Long> countsByKind() {
        var counts = new EnumMap<Kind, Long>(Kind.class);
        for (Kind kind : Kind.values()) {
            counts.put(kind, 0L);
        }
        jdbc.sql("select kind, count(*) from divergences group by kind").query(rs -> {
            counts.put(Kind.of(rs.getString(1)), rs.getLong(2));
        });
        return counts;
    }

    private static @Nullable Instant instant(java.sql.@Nullable Timestamp timestamp) {
        return timestamp == null ? null : timestamp.toInstant();
    }

    private static String interval(Duration duration) {
        return duration.toMillis() + " milliseconds";
    }
}
