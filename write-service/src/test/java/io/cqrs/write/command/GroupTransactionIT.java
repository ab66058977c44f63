package io.cqrs.write.command;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import io.cqrs.testsupport.RealServers;
import io.cqrs.write.command.PendingUnit.IdempotencyClaim;
import io.cqrs.write.command.PendingUnit.Outcome;
import io.cqrs.write.outbox.OutboxProperties;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.jdbc.test.autoconfigure.AutoConfigureTestDatabase;
import org.springframework.boot.jdbc.test.autoconfigure.JdbcTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * One group's transaction against the real write schema: units in, rows in commands, key_state, outbox and
 * idempotency_keys and each unit's outcome out. Every call commits, as in the service.
 */
@JdbcTest
@AutoConfigureTestDatabase(replace = AutoConfigureTestDatabase.Replace.NONE)
@Transactional(propagation = Propagation.NOT_SUPPORTED)
@Import({RealServers.class, CommandRepository.class, GroupTransaction.class, GroupTransactionIT.Wiring.class})
class GroupTransactionIT {

    private static final int SLOT = 3;

    @TestConfiguration(proxyBeanMethods = false)
    @EnableConfigurationProperties(OutboxProperties.class)
    static class Wiring {
        @Bean
        MeterRegistry meters() {
            return new SimpleMeterRegistry();
        }
    }

    @Autowired
    GroupTransaction transaction;

    @Autowired
    JdbcClient jdbc;

    @Autowired
    TransactionTemplate transactions;

    @Autowired
    DataSource dataSource;

    @Test
    void aNewKeyGetsVersionOneItsStateAnOutboxRowAndTheTotals() {
        String key = key("new");
        long totalsBefore = totals();
        var unit = unit(null, Command.write(key, "v"));

        var outcomes = transaction.commit(List.of(unit), SLOT);

        var applied = (Outcome.Applied) outcomes.get(unit);
        var stored = applied.commands().getFirst();
        assertThat(stored)
                .extracting(StoredCommand::version, StoredCommand::writeCount, StoredCommand::eventId)
                .containsExactly(1L, 1L, null);
        assertThat(jdbc.sql("select key, version, op, value, write_count from commands where id = ?")
                        .param(stored.id())
                        .query((rs, row) -> List.of(
                                rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getLong(5)))
                        .single())
                .containsExactly(key, 1L, "write", "v", 1L);
        assertThat(state(key)).isEqualTo(new KeyState(key, 1, 1, false));
        assertThat(jdbc.sql("select count(*) from outbox where command_id = ? and published_at is null"
                                + " and next_attempt_at > created_at")
                        .param(stored.id())
                        .query(Long.class)
                        .single())
                .as("unpublished, left to the publisher for a head start")
                .isOne();
        assertThat(totals()).isEqualTo(totalsBefore + 1);
    }

    @Test
    void anExistingKeyMovesOnFromItsLockedState() {
        String key = key("existing");
        transaction.commit(List.of(unit(null, Command.write(key, "a"))), SLOT);
        var write = unit(null, Command.write(key, "b"));
        var delete = unit(null, Command.delete(key));

        var outcomes = transaction.commit(List.of(write, delete), SLOT);

        assertThat(((Outcome.Applied) outcomes.get(write)).commands())
                .extracting(StoredCommand::version, StoredCommand::writeCount)
                .containsExactly(tuple(2L, 2L));
        assertThat(((Outcome.Applied) outcomes.get(delete)).commands())
                .extracting(StoredCommand::version, StoredCommand::writeCount)
                .containsExactly(tuple(3L, 2L));
        assertThat(state(key)).isEqualTo(new KeyState(key, 3, 2, true));
        assertThat(count("select count(*) from commands where key = ?", key)).isEqualTo(3);
    }

    @Test
    void writesOfAGroupAreNumberedPerKeyInArrivalOrder() {
        String a = key("a");
        String b = key("b");
        transaction.commit(List.of(unit(null, Command.write(a, "a1"))), SLOT);
        var first = unit(null, Command.write(a, "a2"), Command.write(b, "b1"));
        var second = unit(null, Command.write(a, "a3"));
        var third = unit(null, Command.write(b, "b2"), Command.write(a, "a4"));

        var outcomes = transaction.commit(List.of(first, second, third), SLOT);

        assertThat(((Outcome.Applied) outcomes.get(first)).commands())
                .extracting(c -> c.command().key(), StoredCommand::version, StoredCommand::writeCount)
                .containsExactly(tuple(a, 2L, 2L), tuple(b, 1L, 1L));
        assertThat(((Outcome.Applied) outcomes.get(second)).commands())
                .extracting(StoredCommand::version, StoredCommand::writeCount)
                .containsExactly(tuple(3L, 3L));
        assertThat(((Outcome.Applied) outcomes.get(third)).commands())
                .extracting(c -> c.command().key(), StoredCommand::version, StoredCommand::writeCount)
                .containsExactly(tuple(b, 2L, 2L), tuple(a, 4L, 4L));
        assertThat(state(a)).isEqualTo(new KeyState(a, 4, 4, false));
        assertThat(state(b)).isEqualTo(new KeyState(b, 2, 2, false));
        assertThat(jdbc.sql("select value from commands where key = ? order by version")
                        .param(a)
                        .query(String.class)
                        .list())
                .containsExactly("a1", "a2", "a3", "a4");
        var ids = ((Outcome.Applied) outcomes.get(third))
                .commands().stream().map(StoredCommand::id).toList();
        assertThat(jdbc.sql("select count(*) from outbox where command_id = any(?)")
                        .param(ids.toArray(Long[]::new))
                        .query(Long.class)
                        .single())
                .isEqualTo(2);
    }

    @Test
    void aWriteAfterADeleteContinuesTheKeysHistory() {
        String key = key("deleted");
        transaction.commit(List.of(unit(null, Command.write(key, "a"))), SLOT);
        transaction.commit(List.of(unit(null, Command.delete(key))), SLOT);

        var write = unit(null, Command.write(key, "b"));
        var outcomes = transaction.commit(List.of(write), SLOT);

        assertThat(((Outcome.Applied) outcomes.get(write)).commands())
                .extracting(StoredCommand::version, StoredCommand::writeCount)
                .containsExactly(tuple(3L, 2L));
        assertThat(state(key)).isEqualTo(new KeyState(key, 3, 2, false));
    }

    /** Keys the read model holds at a version this database never reached (restored from a backup). */
    @Test
    void writesToKeysAheadInTheReadModelGoAboveTheirVersion() {
        String existing = key("ahead-existing");
        String fresh = key("ahead-new");
        transaction.commit(List.of(unit(null, Command.write(existing, "a"))), SLOT);
        jdbc.sql("""
                        insert into divergences (key, kind, write_version, read_version)
                        values (?, 'ahead', 1, 7), (?, 'ahead', null, 4)
                        """).params(existing, fresh).update();
        var write = unit(null, Command.write(existing, "b"), Command.write(fresh, "x"), Command.write(existing, "c"));

        var outcomes = transaction.commit(List.of(write), SLOT);

        assertThat(((Outcome.Applied) outcomes.get(write)).commands())
                .extracting(StoredCommand::version, StoredCommand::writeCount)
                .containsExactly(tuple(8L, 2L), tuple(5L, 1L), tuple(9L, 3L));
        assertThat(state(existing)).isEqualTo(new KeyState(existing, 9, 3, false));
        assertThat(state(fresh)).isEqualTo(new KeyState(fresh, 5, 1, false));
    }

    @Test
    void aDeleteOfAMissingKeyWritesNothingAndReleasesItsIdempotencyKey() {
        String key = key("missing");
        String idempotencyKey = UUID.randomUUID().toString();
        var delete = unit(idempotencyKey, Command.delete(key));
        var write = unit(null, Command.write(key("other"), "v"));

        var outcomes = transaction.commit(List.of(delete, write), SLOT);

        assertThat(outcomes.get(delete)).isEqualTo(new Outcome.NothingToDelete(key));
        assertThat(outcomes.get(write)).isInstanceOf(Outcome.Applied.class);
        assertThat(count("select count(*) from commands where key = ?", key)).isZero();
        assertThat(count("select count(*) from key_state where key = ?", key)).isZero();
        assertThat(count("select count(*) from idempotency_keys where idempotency_key = ?", idempotencyKey))
                .as("released, so that a retry is judged afresh")
                .isZero();
    }

    @Test
    void theFirstUnitOfAGroupWithAnIdempotencyKeyClaimsItAndTheOthersFindItTaken() {
        String key = key("twice");
        String idempotencyKey = UUID.randomUUID().toString();
        var first = unit(idempotencyKey, Command.write(key, "v"));
        var second = unit(idempotencyKey, Command.write(key, "v"));

        var outcomes = transaction.commit(List.of(first, second), SLOT);

        var applied = (Outcome.Applied) outcomes.get(first);
        assertThat(outcomes.get(second)).isEqualTo(new Outcome.KeyTaken(idempotencyKey));
        assertThat(count("select count(*) from commands where key = ?", key)).isOne();
        assertThat(commandIdsOf(idempotencyKey))
                .containsExactly(applied.commands().getFirst().id());
    }

    @Test
    void anIdempotencyKeyAnEarlierRequestTookWritesNothing() {
        String key = key("earlier");
        String idempotencyKey = UUID.randomUUID().toString();
        var earlier = unit(idempotencyKey, Command.write(key, "v"), Command.write(key, "w"));
        transaction.commit(List.of(earlier), SLOT);
        long[] earlierIds = commandIdsOf(idempotencyKey);
        var retry = unit(idempotencyKey, Command.write(key, "v"), Command.write(key, "w"));

        var outcomes = transaction.commit(List.of(retry), SLOT);

        assertThat(outcomes.get(retry)).isEqualTo(new Outcome.KeyTaken(idempotencyKey));
        assertThat(count("select count(*) from commands where key = ?", key)).isEqualTo(2);
        assertThat(earlierIds).hasSize(2);
        assertThat(commandIdsOf(idempotencyKey)).containsExactly(earlierIds);
        assertThat(state(key)).isEqualTo(new KeyState(key, 2, 2, false));
    }

    /**
     * Groups that create the same new keys at the same time, as a bulk load of fresh keys through several committers
     * does: each group must commit (no retry budget runs out) and every key ends with one command per write. Before
     * new keys were created under a lock, the groups collided on {@code commands(key, version)} again at each retry;
     * groups of writes now create them with ON CONFLICT DO UPDATE, which waits for a concurrent creator instead.
     */
    @Test
    void concurrentGroupsCreatingTheSameNewKeysAllCommit() throws Exception {
        String prefix = key("fresh");
        int committers = 4;
        int rounds = 10;
        int keysPerGroup = 200;
        var failures = new java.util.concurrent.ConcurrentLinkedQueue<Throwable>();
        for (int round = 0; round < rounds; round++) {
            var start = new java.util.concurrent.CountDownLatch(1);
            var threads = new java.util.ArrayList<Thread>();
            for (int c = 0; c < committers; c++) {
                var random = new java.util.Random(round * 31L + c);
                var commands = new java.util.ArrayList<Command>();
                for (int i = 0; i < keysPerGroup; i++) {
                    commands.add(Command.write(prefix + "-" + round + "-" + random.nextInt(keysPerGroup * 2), "v"));
                }
                var unit = new PendingUnit(commands, null);
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                        transaction.commit(List.of(unit), SLOT);
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            start.countDown();
            for (Thread thread : threads) {
                thread.join();
            }
        }

        assertThat(failures).isEmpty();
        assertThat(count(
                        "select count(*) from key_state s where key like ? || '%' and version <> (select count(*)"
                                + " from commands c where c.key = s.key)",
                        prefix))
                .as("keys whose version is not their number of commands")
                .isZero();
        assertThat(count("select count(*) from commands where key like ? || '%'", prefix))
                .isEqualTo((long) committers * rounds * keysPerGroup);
    }

    @Test
    void keepsEachTracedRequestsTraceparentInItsOutboxRowsAndNoneForTheOthers() {
        String traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        String traced = key("traced");
        String untraced = key("untraced");
        var tracedUnit =
                new PendingUnit(List.of(Command.write(traced, "a"), Command.write(traced, "b")), null, traceparent);
        var untracedUnit = unit(null, Command.write(untraced, "v"));

        var outcomes = transaction.commit(List.of(untracedUnit, tracedUnit), SLOT);

        var tracedIds = ((Outcome.Applied) outcomes.get(tracedUnit))
                .commands().stream().map(StoredCommand::id).toList();
        var untracedId = ((Outcome.Applied) outcomes.get(untracedUnit))
                .commands()
                .getFirst()
                .id();
        for (long id : tracedIds) {
            assertThat(outboxTraceparent(id)).isEqualTo(traceparent);
        }
        assertThat(outboxTraceparent(untracedId)).isNull();
    }

    @Test
    void commitsItsOwnTransactionButNeverACallersOne() {
        String own = key("own-transaction");
        String callers = key("callers-transaction");

        // Its own transaction: committed with its last statement, visible to every other connection at once.
        transaction.commit(List.of(unit(null, Command.write(own, "v"))), SLOT);
        assertThat(count("select count(*) from commands where key = ?", own)).isOne();
        // Inside a caller's transaction, the caller decides: here it rolls back, and nothing of the group stays.
        transactions.executeWithoutResult(status -> {
            transaction.commit(List.of(unit(null, Command.write(callers, "v"))), SLOT);
            status.setRollbackOnly();
        });

        assertThat(count("select count(*) from commands where key = ?", callers))
                .isZero();
        assertThat(count("select count(*) from key_state where key = ?", callers))
                .isZero();
    }

    /**
     * A key created by another transaction (another instance, of an older version) while the group, which found the key
     * missing, is storing it: a group of writes waits for the other's row and moves it on.
     */
    @Test
    void aGroupOfWritesContinuesAKeyAnotherTransactionCreatedMeanwhile() throws Exception {
        String key = key("raced-write");
        assertContinuesAKeyCreatedMeanwhile(key, unit(null, Command.write(key, "ours")));
    }

    /** The same for a group numbered after locking (here a traced request): it fails on the key's row, and is retried. */
    @Test
    void aLockedGroupIsRetriedWhenAnotherTransactionCreatedItsNewKeyMeanwhile() throws Exception {
        String key = key("raced-traced");
        var traced = new PendingUnit(
                List.of(Command.write(key, "ours")), null, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        assertContinuesAKeyCreatedMeanwhile(key, traced);
    }

    private void assertContinuesAKeyCreatedMeanwhile(String key, PendingUnit unit) throws Exception {
        java.util.concurrent.CompletableFuture<Map<PendingUnit, Outcome>> group;
        try (Connection other = dataSource.getConnection()) {
            other.setAutoCommit(false);
            try (var statement = other.createStatement()) {
                statement.execute("insert into key_state (key, version, write_count, deleted, updated_at)"
                        + " values ('" + key + "', 5, 5, false, now())");
            }
            group = java.util.concurrent.CompletableFuture.supplyAsync(() -> transaction.commit(List.of(unit), SLOT));
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> count(
                                    "select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
                                            + " and query like ?",
                                    "%insert into key_state%")
                            > 0);
            other.commit();
        }

        var applied = (Outcome.Applied)
                group.get(10, java.util.concurrent.TimeUnit.SECONDS).get(unit);
        assertThat(applied.commands().getFirst().version()).isEqualTo(6);
        assertThat(state(key)).isEqualTo(new KeyState(key, 6, 6, false));
        assertThat(count("select count(*) from commands where key = ?", key)).isOne();
    }

    private @Nullable String outboxTraceparent(long commandId) {
        return jdbc.sql("select traceparent from outbox where command_id = ?")
                .param(commandId)
                .query((rs, row) -> java.util.Optional.ofNullable(rs.getString(1)))
                .single()
                .orElse(null);
    }

    private static PendingUnit unit(@Nullable String idempotencyKey, Command... commands) {
        return new PendingUnit(
                List.of(commands),
                idempotencyKey == null ? null : new IdempotencyClaim(idempotencyKey, "hash-of-" + idempotencyKey));
    }

    private static String key(String name) {
        return name + "-" + UUID.randomUUID();
    }

    private KeyState state(String key) {
        return jdbc.sql("select version, write_count, deleted from key_state where key = ?")
                .param(key)
                .query((rs, row) -> new KeyState(key, rs.getLong(1), rs.getLong(2), rs.getBoolean(3)))
                .single();
    }

    private long[] commandIdsOf(String idempotencyKey) {
        return jdbc.sql("select command_ids from idempotency_keys where idempotency_key = ?")
                .param(idempotencyKey)
                .query((rs, row) -> Arrays.stream((Long[]) rs.getArray(1).getArray())
                        .mapToLong(Long::longValue)
                        .toArray())
                .single();
    }

    private long totals() {
        return jdbc.sql("select commands from write_totals where slot = ?")
                .param(SLOT)
                .query(Long.class)
                .single();
    }

    private long count(String sql, Object parameter) {
        return jdbc.sql(sql).param(parameter).query(Long.class).single();
    }
}
