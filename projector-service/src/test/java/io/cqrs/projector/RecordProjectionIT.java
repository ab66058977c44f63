package io.cqrs.projector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.cqrs.events.RecordChanges;
import io.cqrs.events.RecordChanges.Change;
import io.cqrs.events.RecordEvent;
import io.cqrs.stream.StreamEntryId;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.dao.DataAccessException;
import org.springframework.transaction.support.TransactionTemplate;

/** Events on the stream in, read-model rows and counters out: given/when/then against the running projector. */
class RecordProjectionIT extends ProjectorTestSupport {

    @Autowired
    DataSource dataSource;

    @Autowired
    RecordProjection projection;

    @Autowired
    TransactionTemplate transactions;

    /** Three keys' histories: a key written three times, one written then deleted, one deleted then written again. */
    List<RecordEvent> histories(String prefix) {
        return List.of(
                written(prefix + "a", 1, 1),
                written(prefix + "a", 2, 2),
                written(prefix + "a", 3, 3),
                written(prefix + "b", 1, 1),
                deleted(prefix + "b", 2, 1),
                written(prefix + "c", 1, 1),
                deleted(prefix + "c", 2, 1),
                written(prefix + "c", 3, 2));
    }

    @Test
    void convergesToTheSameRowsWhetherEventsComeOnceTwiceOrInReverse() {
        String once = prefix + "once/";
        String twice = prefix + "twice/";
        String reversed = prefix + "reversed/";
        var reverse = new ArrayList<>(histories(reversed));
        Collections.reverse(reverse);

        publish(histories(once));
        publish(histories(twice));
        publish(histories(twice));
        publish(reverse);
        awaitProjected();

        var expected = rowsWithoutPrefix(once);
        assertThat(expected).hasSize(3);
        assertThat(rowsWithoutPrefix(twice)).isEqualTo(expected);
        assertThat(rowsWithoutPrefix(reversed)).isEqualTo(expected);
        var a = row(once + "a").orElseThrow();
        assertThat(a.value()).isEqualTo(once + "a v3");
        assertThat(a.version()).isEqualTo(3);
        assertThat(a.writeCount()).isEqualTo(3);
        var b = row(once + "b").orElseThrow();
        assertThat(b.deleted()).isTrue();
        assertThat(b.value()).isNull();
        assertThat(b.version()).isEqualTo(2);
        assertThat(b.writeCount()).isEqualTo(1);
        var c = row(once + "c").orElseThrow();
        assertThat(c.deleted()).isFalse();
        assertThat(c.value()).isEqualTo(once + "c v3");
        assertThat(c.writeCount()).isEqualTo(2);
        assertCountersMatchRows();
    }

    @Test
    void keepsADeletedKeyDeletedWhenAnOlderWriteArrivesLate() {
        String key = prefix + "deleted";
        publish(List.of(written(key, 1, 1), deleted(key, 2, 1)));
        awaitProjected();
        var before = state();

        publish(List.of(written(key, 1, 1)));
        awaitProjected();

        var row = row(key).orElseThrow();
        assertThat(row.deleted()).isTrue();
        assertThat(row.value()).isNull();
        assertThat(row.version()).isEqualTo(2);
        var after = state();
        assertThat(after.stale() - before.stale()).isEqualTo(1);
        assertThat(after.applied()).isEqualTo(before.applied());
        assertThat(after.records()).isEqualTo(before.records());
        assertCountersMatchRows();
    }

    @Test
    void putsARowChangedByHandBackWhenItsEventIsRepublished() {
        String key = prefix + "edited";
        publish(List.of(written(key, 1, 1), written(key, 2, 2)));
        awaitProjected();
        var before = state();
        try (var connection = dataSource.getConnection();
                var edit = connection.prepareStatement("update records set write_count = 9 where key = ?")) {
            edit.setString(1, key);
            edit.executeUpdate();
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }

        publish(List.of(written(key, 2, 2))); // what the write side's reconciliation republishes
        awaitProjected();

        var row = row(key).orElseThrow();
        assertThat(row.version()).isEqualTo(2);
        assertThat(row.writeCount()).isEqualTo(2);
        assertThat(state().records()).isEqualTo(before.records());
        assertCountersMatchRows();
    }

    @Test
    void countsEveryNewEventAsAppliedAndEveryRepeatAsStale() {
        awaitProjected();
        var before = state();
        double appliedBefore = events("applied");
        var events = histories(prefix);

        publish(events);
        awaitProjected();
        var afterFirst = state();
        publish(events);
        awaitProjected();
        var afterSecond = state();

        assertThat(afterFirst.applied() - before.applied()).isEqualTo(events.size());
        assertThat(afterFirst.stale()).isEqualTo(before.stale());
        assertThat(afterFirst.records() - before.records()).isEqualTo(2);
        assertThat(afterFirst.totalWrites() - before.totalWrites()).isEqualTo(3 + 1 + 2);
        assertThat(afterSecond.applied()).isEqualTo(afterFirst.applied());
        assertThat(afterSecond.stale() - afterFirst.stale()).isEqualTo(events.size());
        assertThat(afterSecond.records()).isEqualTo(afterFirst.records());
        assertThat(afterSecond.totalWrites()).isEqualTo(afterFirst.totalWrites());
        assertThat(events("applied") - appliedBefore).isEqualTo(events.size());
        assertCountersMatchRows();
    }

    @Test
    void announcesEachChangedKeyOnlyOnceItsNewVersionIsVisible() throws Exception {
        var events = histories(prefix);
        var announced = new HashMap<String, Long>();
        try (Connection listener = dataSource.getConnection()) {
            listener.setAutoCommit(true);
            try (var statement = listener.createStatement()) {
                statement.execute("listen " + RecordChanges.CHANNEL);
            }

            publish(events);

            var pg = listener.unwrap(PGConnection.class);
            await().atMost(PATIENCE).untilAsserted(() -> {
                var notifications = pg.getNotifications(100);
                for (var notification : notifications == null ? new PGNotification[0] : notifications) {
                    assertThat(notification.getName()).isEqualTo(RecordChanges.CHANNEL);
                    for (Change change : RecordChanges.decode(notification.getParameter())) {
                        if (change.key().startsWith(prefix)) {
                            // Delivered on commit: whoever hears the notice can already read that version.
                            assertThat(visibleVersion(listener, change.key()))
                                    .as(change.key())
                                    .isGreaterThanOrEqualTo(change.version());
                            announced.merge(change.key(), change.version(), Math::max);
                        }
                    }
                }
                assertThat(announced).isEqualTo(Map.of(prefix + "a", 3L, prefix + "b", 2L, prefix + "c", 3L));
            });
            try (var statement = listener.createStatement()) {
                statement.execute("unlisten *");
            }
        }
    }

    @Test
    void appliesABatchAllOrNothing() {
        // Refuses the counter update of one batch only (recognised by its dead-letter count), after its upsert ran.
        long marker = 424_242;
        jdbc.sql("""
                        create function refuse_counters() returns trigger language plpgsql
                        as $$ begin raise exception 'counters refused'; end $$
                        """).update();
        jdbc.sql("create trigger refuse_counters before update on projection_state for each row"
                        + " when (new.events_dead_lettered - old.events_dead_lettered = " + marker + ")"
                        + " execute function refuse_counters()")
                .update();
        try {
            awaitProjected();
            var before = state();

            assertThatThrownBy(() -> projection.apply(
                            List.of(written(prefix + "rolled-back", 1, 1)), marker, StreamEntryId.parse("1-0")))
                    .isInstanceOf(DataAccessException.class)
                    .hasMessageContaining("counters refused");

            assertThat(row(prefix + "rolled-back")).isEmpty();
            assertThat(state()).isEqualTo(before);
        } finally {
            jdbc.sql("drop trigger refuse_counters on projection_state").update();
            jdbc.sql("drop function refuse_counters()").update();
        }
    }

    @Test
    void commitsItsOwnTransactionButNeverACallersOne() {
        String own = prefix + "own-transaction";
        String callers = prefix + "callers-transaction";
        awaitProjected();
        var before = state();

        // Its own transaction: committed with its last statement, visible to every other connection at once.
        projection.apply(List.of(written(own, 1, 1)), 0, StreamEntryId.parse("1-0"));
        assertThat(row(own)).isPresent();
        // Inside a caller's transaction, the caller decides: here it rolls back, and nothing of the batch stays.
        transactions.executeWithoutResult(tx -> {
            projection.apply(List.of(written(callers, 1, 1)), 0, StreamEntryId.parse("1-0"));
            tx.setRollbackOnly();
        });

        assertThat(row(callers)).isEmpty();
        var after = state();
        assertThat(after.records() - before.records()).isEqualTo(1);
        assertThat(after.applied() - before.applied()).isEqualTo(1);
        assertCountersMatchRows();
    }

    @Test
    void aBatchThatWaitedForTheLockCountsWhatTheBatchBeforeItCommitted() throws Exception {
        String key = prefix + "raced";
        awaitProjected();
        var before = state();
        CompletableFuture<RecordProjection.Outcome> waiting;
        try (Connection other = dataSource.getConnection()) {
            other.setAutoCommit(false);
            try (var firstBatch = other.createStatement()) {
                // Another projector's batch holds the lock and has applied version 1 of the key, not yet committed.
                firstBatch.execute("select 1 from projection_state where projection = 'records' for update");
                firstBatch.execute("insert into records (key, value, version, write_count, deleted, created_at,"
                        + " updated_at, last_command_id) values ('" + key + "', 'v1', 1, 1, false, now(), now(), 1)");
                firstBatch.execute("update projection_state set events_applied = events_applied + 1,"
                        + " records = records + 1, total_writes = total_writes + 1 where projection = 'records'");
            }
            waiting = CompletableFuture.supplyAsync(
                    () -> projection.apply(List.of(written(key, 1, 1)), 0, StreamEntryId.parse("1-0")));
            await().atMost(PATIENCE).until(() -> jdbc.sql("""
                            select count(*) from pg_stat_activity
                            where wait_event_type = 'Lock' and query like '%from projection_state where projection%'
                            """).query(Long.class).single() > 0);
            other.commit();
        }

        var outcome = waiting.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);

        // Its stored versions were read once the lock was its own: the same event again is stale, the key not new.
        assertThat(outcome.applied()).isZero();
        assertThat(outcome.stale()).isEqualTo(1);
        var after = state();
        assertThat(after.records() - before.records()).isEqualTo(1);
        assertThat(after.totalWrites() - before.totalWrites()).isEqualTo(1);
        assertCountersMatchRows();
    }

    private static long visibleVersion(Connection connection, String key) throws Exception {
        try (var query = connection.prepareStatement("select version from records where key = ?")) {
            query.setString(1, key);
            try (var result = query.executeQuery()) {
                return result.next() ? result.getLong(1) : 0;
            }
        }
    }

    private List<Row> rowsWithoutPrefix(String keyPrefix) {
        return rows(keyPrefix).stream()
                .map(r -> new Row(
                        r.key().substring(keyPrefix.length()),
                        r.value() == null ? null : r.value().substring(keyPrefix.length()),
                        r.version(),
                        r.writeCount(),
                        r.deleted(),
                        r.createdAt(),
                        r.updatedAt(),
                        0))
                .toList();
    }
}
