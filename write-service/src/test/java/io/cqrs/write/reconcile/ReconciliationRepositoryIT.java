package io.cqrs.write.reconcile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.testsupport.RealServers;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.jdbc.test.autoconfigure.AutoConfigureTestDatabase;
import org.springframework.boot.jdbc.test.autoconfigure.JdbcTest;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;

/**
 * The reconciliation's reads of the write database, on the service's own pool (its plan settings included) and a
 * database of its own.
 */
@JdbcTest
@AutoConfigureTestDatabase(replace = AutoConfigureTestDatabase.Replace.NONE)
@Transactional(propagation = Propagation.NOT_SUPPORTED)
@Import({RealServers.class, ReconciliationRepository.class})
class ReconciliationRepositoryIT {

    private static final int KEYS = 20_000;
    private static final int VERSIONS = 5;
    // The pass's last range: the keys after this one.
    private static final int RANGE = 100;

    @Autowired
    ReconciliationRepository repository;

    @Autowired
    JdbcClient jdbc;

    /**
     * A range's rows cost a lookup per key, however long the keys' history: the last range of a pass is open-ended,
     * and a plan that joined it with the whole command log (planned for an unknown bound, it expects a third of the
     * keys) read every command and outbox row ever stored, 1.5 s for 987 keys on a database of 886k commands, and
     * would run into the statement timeout on a larger one.
     */
    @Test
    void readsARangeKeyByKeyHoweverLongTheHistory() {
        jdbc.sql("""
                        insert into commands (key, version, op, value, write_count)
                        select 'history-' || lpad(k::text, 5, '0'), v, 'write', 'value', v
                        from generate_series(1, :keys) as k, generate_series(1, :versions) as v
                        """).param("keys", KEYS).param("versions", VERSIONS).update();
        jdbc.sql("insert into outbox (command_id, published_at, stream_id) select id, now() - interval '1 hour', '1-0'"
                        + " from commands where key like 'history-%'")
                .update();
        jdbc.sql("""
                        insert into key_state (key, version, write_count, deleted, updated_at)
                        select key, max(version), max(version), false, now() - interval '1 hour'
                        from commands where key like 'history-%' group by key
                        """).update();
        jdbc.sql("analyze key_state, commands, outbox").update();
        // The statistics of a statement reach other sessions within about a second (pg_stat_*): the setup read the
        // command log twice, and the range is counted from there on.
        long before = await().atMost(Duration.ofSeconds(10))
                .until(this::tuplesRead, tuples -> tuples >= 2L * KEYS * VERSIONS);

        // The range, and whether each key's latest event is on its way, as if every key of the range differed.
        var rows = repository.rows("history-%05d".formatted(KEYS - RANGE), null, Duration.ofSeconds(5));
        var onTheirWay = repository.onTheirWay(rows.rows(), Duration.ofSeconds(5));

        assertThat(rows.rows()).hasSize(RANGE);
        assertThat(rows.rows()).allSatisfy(row -> assertThat(row.version()).isEqualTo(VERSIONS));
        assertThat(rows.changedRecently()).isEmpty();
        assertThat(onTheirWay).isEmpty();
        long read = await().atMost(Duration.ofSeconds(10))
                .until(() -> tuplesRead() - before, tuples -> tuples >= 2L * RANGE);
        assertThat(read)
                .as("command and outbox rows and index entries read for %d keys with %d commands each", RANGE, VERSIONS)
                .isLessThan(10L * RANGE);
    }

    /**
     * A key's latest event is on its way while its outbox row is unpublished or was published within the settle time;
     * the version asked about is the one the range read (a newer command does not count).
     */
    @Test
    void tellsWhichKeysLatestEventsAreStillOnTheirWay() {
        jdbc.sql("""
                        insert into commands (key, version, op, value, write_count)
                        values ('queued', 1, 'write', 'v', 1), ('published-now', 1, 'write', 'v', 1),
                               ('published-long-ago', 1, 'write', 'v', 1), ('cleaned-up', 1, 'write', 'v', 1),
                               ('newer-queued', 1, 'write', 'v', 1), ('newer-queued', 2, 'write', 'v', 2)
                        """).update();
        jdbc.sql("""
                        insert into outbox (command_id, published_at, stream_id)
                        select id, case key when 'queued' then null
                                            when 'newer-queued' then case version when 1 then now() - interval '1 hour' end
                                            when 'published-now' then now()
                                            else now() - interval '1 hour' end,
                               case when key = 'queued' or key = 'newer-queued' and version = 2 then null else '1-0' end
                        from commands where key <> 'cleaned-up'
                        """).update();
        var asRead = Stream.of("queued", "published-now", "published-long-ago", "cleaned-up", "newer-queued")
                .map(key -> new KeyRow(key, 1, 1, false))
                .toList();

        assertThat(repository.onTheirWay(asRead, Duration.ofSeconds(5)))
                .containsExactlyInAnyOrder("queued", "published-now");
        assertThat(repository.onTheirWay(List.of(), Duration.ofSeconds(5))).isEmpty();
    }

    // Rows and index entries read from commands and outbox so far, by scans of any kind.
    private long tuplesRead() {
        jdbc.sql("select pg_stat_clear_snapshot()").query().singleRow();
        return jdbc.sql("""
                        select (select coalesce(sum(seq_tup_read), 0) from pg_stat_user_tables
                                where relname in ('commands', 'outbox'))
                             + (select coalesce(sum(idx_tup_read), 0) from pg_stat_user_indexes
                                where relname in ('commands', 'outbox'))
                        """).query(Long.class).single();
    }
}
