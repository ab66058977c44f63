package io.cqrs.projector.rebuild;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.jayway.jsonpath.Configuration;
import com.jayway.jsonpath.JsonPath;
import com.jayway.jsonpath.Option;
import io.cqrs.projector.audit.OperatorAudit;
import io.cqrs.stream.RedisConnections;
import io.cqrs.stream.StreamInspector;
import io.cqrs.testsupport.DatabaseOutage;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.RealServers;
import io.cqrs.testsupport.TestApiKeys;
import io.cqrs.testsupport.TestDatabase;
import io.cqrs.testsupport.TestStream;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.flywaydb.core.Flyway;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Rebuilds against a real read database (the projector's own, with the projector running), a real write database (the
 * write service's schema, migrated from {@code db/migrations/write}, written by {@link WriteSide} as the write service
 * writes it) and a real stream. Tests share the databases and the stream, so each uses keys of its own; the rebuild of
 * everything also rebuilds the others' keys, which only makes them right.
 */
@SpringBootTest(
        webEnvironment = WebEnvironment.RANDOM_PORT,
        properties = {
            "cqrs.projector.consumer=projector-under-test",
            "cqrs.projector.batch-size=50",
            "cqrs.projector.poll-interval=100ms",
            "cqrs.projector.claim-idle=2s",
            "cqrs.projector.claim-interval=500ms",
            "cqrs.projector.retry-backoff=50ms",
            "cqrs.projector.retry-max-backoff=500ms",
            "cqrs.rebuild.page-keys=20",
            "cqrs.rebuild.settle=500ms",
            "cqrs.rebuild.progress-log-interval=1s",
            "spring.datasource.hikari.maximum-pool-size=6",
            "spring.datasource.hikari.minimum-idle=1"
        })
@Import(RealServers.class)
class RebuildIT {

    static final Duration PATIENCE = Duration.ofSeconds(90);

    static final TestDatabase WRITE_DB = TestDatabase.create();

    static {
        Flyway.configure()
                .dataSource(WRITE_DB.jdbcUrl(), WRITE_DB.username(), WRITE_DB.password())
                .locations("filesystem:" + Path.of("../db/migrations/write").toAbsolutePath())
                // The write database's grants (afterMigrate.sql) go to nobody: the test reads as the owner.
                .placeholders(Map.of("rebuilder", ""))
                .load()
                .migrate();
    }

    @DynamicPropertySource
    static void writeDatabase(DynamicPropertyRegistry registry) {
        registry.add("cqrs.rebuild.write-db-url", WRITE_DB::jdbcUrl);
        registry.add("cqrs.rebuild.write-db-user", WRITE_DB::username);
        registry.add("cqrs.rebuild.write-db-password", WRITE_DB::password);
    }

    @AfterAll
    static void dropWriteDatabase() {
        WRITE_DB.close();
    }

    @LocalManagementPort
    int managementPort;

    @Autowired
    JdbcClient jdbc;

    @Autowired
    TestStream stream;

    @Autowired
    RedisConnections connections;

    @Autowired
    OperatorAudit audit;

    @Autowired
    TransactionTemplate transactions;

    @Autowired
    ShadowTable shadows;

    final DriverManagerDataSource writeDataSource =
            new DriverManagerDataSource(WRITE_DB.jdbcUrl(), WRITE_DB.username(), WRITE_DB.password());
    final JdbcClient truth = JdbcClient.create(writeDataSource);

    /** A prefix for this test's keys. */
    final String prefix =
            "r" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()) + "/";

    StatefulRedisConnection<String, String> connection;
    WriteSide writes;
    LocalHttp admin;

    @BeforeEach
    void connect() {
        connection = connections.open(RedisURI.DEFAULT_TIMEOUT_DURATION);
        writes = new WriteSide(
                truth,
                new TransactionTemplate(new DataSourceTransactionManager(writeDataSource)),
                connection.sync(),
                stream.name());
        admin = new LocalHttp(managementPort).as(TestApiKeys.ADMIN);
    }

    @AfterEach
    void endAnyRebuildAndDisconnect() {
        if (!finished(status())) {
            admin.delete("/actuator/rebuild");
        }
        await().atMost(PATIENCE).until(() -> finished(status()));
        connection.close();
    }

    @Test
    void rebuildsEverythingUnderConcurrentWritesAndReadsLosingNothing() throws Exception {
        var keys = new ArrayList<String>();
        for (int i = 0; i < 120; i++) {
            String key = prefix + "k" + i;
            keys.add(key);
            writes.write(key);
            if (i % 3 == 0) {
                writes.write(key);
            }
            if (i % 10 == 0) {
                writes.delete(key);
            }
        }
        awaitProjected();
        // A projection bug left some rows wrong: a value, a write count, a row gone.
        jdbc.sql("update records set value = 'garbage' where key = ?")
                .param(prefix + "k1")
                .update();
        jdbc.sql("update records set write_count = write_count + 5 where key = ?")
                .param(prefix + "k2")
                .update();
        jdbc.sql("delete from records where key = ?").param(prefix + "k4").update();
        List<String> readable = keys.stream()
                .filter(key -> !key.endsWith("/k1") && !key.endsWith("/k4"))
                .filter(key -> row(key).filter(r -> !r.deleted()).isPresent())
                .toList();
        // Reads counted before the rebuild.
        var counted = new ConcurrentHashMap<String, Long>();
        for (String key : readable) {
            addReads(key, 3);
            counted.merge(key, 3L, Long::sum);
        }

        var stop = new AtomicBoolean();
        var inconsistencies = new CopyOnWriteArrayList<String>();
        var written = new AtomicLong();
        Thread writer = Thread.ofPlatform().start(() -> {
            int n = 0;
            while (!stop.get()) {
                String key = n % 4 == 0 ? prefix + "new" + n : keys.get(n % keys.size());
                writes.write(key);
                written.incrementAndGet();
                n++;
                // The load's pace (about 50 writes a second, a quarter of them new keys), below the copy's rate.
                LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
            }
        });
        Thread reader = Thread.ofPlatform().start(() -> {
            int n = 0;
            while (!stop.get()) {
                String key = readable.get(n++ % readable.size());
                Optional<Row> row = row(key);
                if (row.isEmpty()) {
                    inconsistencies.add(key + " missing");
                } else if (!row.get().deleted()
                        && !WriteSide.valueOf(key, row.get().version())
                                .equals(row.get().value())) {
                    inconsistencies.add(key + " holds " + row.get().value() + " at version "
                            + row.get().version());
                } else if (!row.get().deleted()) {
                    // The read service's flush: one read counted, added to whatever row is there now.
                    addReads(key, 1);
                    counted.merge(key, 1L, Long::sum);
                }
            }
        });
        try {
            var started = admin.postJson("/actuator/rebuild", "{\"keys_per_second\": 60}");
            assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
            assertThat(JsonPath.<String>read(started.body(), "$.state")).isEqualTo("copying");
            long total = JsonPath.<Number>read(started.body(), "$.keys_total").longValue();
            assertThat(total).isGreaterThanOrEqualTo(keys.size());

            var seen = new ArrayList<Long>();
            await().atMost(PATIENCE).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
                String body = status();
                seen.add(JsonPath.<Number>read(body, "$.keys_done").longValue());
                assertThat(JsonPath.<String>read(body, "$.state")).isEqualTo("done");
            });
            assertThat(seen).as("progress moves").anyMatch(done -> done > 0 && done < total);
            String done = status();
            assertThat(JsonPath.<Number>read(done, "$.keys_done").longValue()).isGreaterThanOrEqualTo(total);
            assertThat(JsonPath.<Number>read(done, "$.keys_per_second").doubleValue())
                    .isPositive();
            assertThat(JsonPath.<Number>read(done, "$.eta_seconds").doubleValue())
                    .isZero();
            assertThat(JsonPath.<Number>read(done, "$.switch.seconds").doubleValue())
                    .isNotNegative();
            assertThat(written.get()).as("writes during the rebuild").isPositive();
        } finally {
            stop.set(true);
            writer.join();
            reader.join();
        }
        awaitProjected();

        assertThat(inconsistencies).as("what readers saw").isEmpty();
        assertReadModelEqualsWriteDatabase(prefix);
        for (var entry : counted.entrySet()) {
            assertThat(row(entry.getKey()).orElseThrow().readCount())
                    .as("read count of " + entry.getKey())
                    .isEqualTo(entry.getValue());
        }
        assertCountersMatchRows();
        assertDualApplyOffAndNoShadow();
        assertThat(audit.recent(5)).anySatisfy(entry -> {
            assertThat(entry.operation()).isEqualTo("rebuild.start");
            assertThat(entry.parameters()).contains("keys_per_second");
            assertThat(entry.outcome()).isEqualTo("succeeded");
        });
        String scrape =
                new LocalHttp(managementPort).get("/actuator/prometheus").body();
        assertThat(scrape)
                .contains("cqrs_rebuild_keys_done")
                .contains("cqrs_rebuild_keys_in_scope")
                .contains("cqrs_rebuild_keys_per_second")
                .contains("cqrs_rebuild_eta_seconds")
                .contains("cqrs_rebuild_keys_copied_total")
                .contains("cqrs_rebuild_switch_seconds_count")
                .contains("cqrs_rebuild_runs_total{application=\"projector-service\",outcome=\"done\"}");
    }

    @Test
    void repairsAReadModelAheadOfARestoredWriteDatabase() {
        for (String key : List.of("older", "lost", "kept")) {
            writes.write(prefix + key);
            writes.write(prefix + key);
            writes.write(prefix + key);
        }
        awaitProjected();
        addReads(prefix + "older", 7);
        // The write database restored from a backup taken when "older" was at version 1 and "lost" did not exist; the
        // read model kept what it had projected, and a key the restored database never had.
        truth.sql("delete from outbox where command_id in (select id from commands where key = ? and version > 1)")
                .param(prefix + "older")
                .update();
        truth.sql("delete from commands where key = ? and version > 1")
                .param(prefix + "older")
                .update();
        truth.sql("update key_state set version = 1, write_count = 1 where key = ?")
                .param(prefix + "older")
                .update();
        truth.sql("delete from outbox where command_id in (select id from commands where key = ?)")
                .param(prefix + "lost")
                .update();
        truth.sql("delete from commands where key = ?").param(prefix + "lost").update();
        truth.sql("delete from key_state where key = ?").param(prefix + "lost").update();
        jdbc.sql("""
                        insert into records (key, value, version, write_count, created_at, updated_at, last_command_id)
                        values (?, 'from a future the write database forgot', 9, 9, now(), now(), 1)
                        """).param(prefix + "stray").update();
        jdbc.sql("update projection_state set records = records + 1, total_writes = total_writes + 9")
                .update();

        rebuild("{\"prefix\": \"" + prefix + "\"}");

        assertThat(row(prefix + "older")).hasValueSatisfying(row -> {
            assertThat(row.version()).isEqualTo(1);
            assertThat(row.value()).isEqualTo(WriteSide.valueOf(prefix + "older", 1));
            assertThat(row.writeCount()).isEqualTo(1);
            assertThat(row.readCount()).as("reads counted before survive").isEqualTo(7);
        });
        assertThat(row(prefix + "lost")).isEmpty();
        assertThat(row(prefix + "stray")).isEmpty();
        assertReadModelEqualsWriteDatabase(prefix);
        assertCountersMatchRows();
        String done = status();
        assertThat(JsonPath.<Number>read(done, "$.switch.keys_deleted").longValue())
                .isEqualTo(2);
        assertThat(JsonPath.<Number>read(done, "$.switch.keys_updated").longValue())
                .isEqualTo(1);
        assertThat(JsonPath.<Map<String, String>>read(done, "$.scope")).containsEntry("prefix", prefix);

        // New writes on the key go on above what the stream had: projected as usual.
        writes.write(prefix + "older");
        awaitProjected();
        assertThat(row(prefix + "older").orElseThrow().version()).isEqualTo(2);
    }

    @Test
    void rebuildsARangeOrAPrefixAndNothingOutside() {
        for (String key : List.of("a/1", "a/2", "a/3", "a/4", "a/5", "b/1", "b/2", "c/1")) {
            writes.write(prefix + key);
        }
        awaitProjected();
        jdbc.sql("update records set value = 'garbage' where key like ?")
                .param(prefix + "%")
                .update();

        rebuild("{\"from_key\": \"" + prefix + "a/2\", \"to_key\": \"" + prefix + "a/4\"}");

        assertThat(values(prefix))
                .containsEntry(prefix + "a/1", "garbage")
                .containsEntry(prefix + "a/2", WriteSide.valueOf(prefix + "a/2", 1))
                .containsEntry(prefix + "a/3", WriteSide.valueOf(prefix + "a/3", 1))
                .containsEntry(prefix + "a/4", "garbage")
                .containsEntry(prefix + "a/5", "garbage")
                .containsEntry(prefix + "b/1", "garbage")
                .containsEntry(prefix + "c/1", "garbage");

        rebuild("{\"prefix\": \"" + prefix + "b/\"}");

        assertThat(values(prefix))
                .containsEntry(prefix + "a/1", "garbage")
                .containsEntry(prefix + "a/4", "garbage")
                .containsEntry(prefix + "b/1", WriteSide.valueOf(prefix + "b/1", 1))
                .containsEntry(prefix + "b/2", WriteSide.valueOf(prefix + "b/2", 1))
                .containsEntry(prefix + "c/1", "garbage");
    }

    @Test
    void cancelLeavesTheLiveTableAsItWasAndTheDualApplyOff() {
        for (int i = 0; i < 30; i++) {
            writes.write(prefix + "k" + i);
        }
        awaitProjected();
        jdbc.sql("update records set value = 'garbage' where key like ?")
                .param(prefix + "%")
                .update();

        var started = admin.postJson("/actuator/rebuild", "{\"prefix\": \"" + prefix + "\", \"keys_per_second\": 2}");
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        await().atMost(PATIENCE)
                .until(() -> JsonPath.<Number>read(status(), "$.keys_done").longValue() > 0);
        writes.write(prefix + "k0"); // applied to the live table and the shadow meanwhile

        var cancelled = admin.delete("/actuator/rebuild");

        assertThat(cancelled.statusCode()).as(cancelled.body()).isEqualTo(200);
        assertThat(JsonPath.<String>read(cancelled.body(), "$.state")).isEqualTo("cancelled");
        awaitProjected();
        assertThat(values(prefix)).hasSize(30).allSatisfy((key, value) -> {
            if (!key.equals(prefix + "k0")) {
                assertThat(value).as(key).isEqualTo("garbage");
            }
        });
        assertThat(row(prefix + "k0").orElseThrow().version()).isEqualTo(2);
        assertDualApplyOffAndNoShadow();
        assertThat(audit.recent(5)).anySatisfy(entry -> {
            assertThat(entry.operation()).isEqualTo("rebuild.cancel");
            assertThat(entry.outcome()).isEqualTo("succeeded");
        });
    }

    @Test
    void refusesASecondRebuildWhileOneRuns() {
        writes.write(prefix + "one");
        writes.write(prefix + "two");
        awaitProjected();
        var first = admin.postJson("/actuator/rebuild", "{\"prefix\": \"" + prefix + "\", \"keys_per_second\": 1}");
        assertThat(first.statusCode()).as(first.body()).isEqualTo(202);
        long id = JsonPath.<Number>read(first.body(), "$.id").longValue();

        var second = admin.postJson("/actuator/rebuild", "{}");

        assertProblem(second, 409);
        assertThat(JsonPath.<String>read(second.body(), "$.detail")).contains("#" + id);
        assertThat(JsonPath.<Number>read(status(), "$.id").longValue()).isEqualTo(id);
    }

    @Test
    void answersBadBodiesWithAProblemNamingTheFieldAndStartsNothing() {
        Object before = field(status(), "$.id");
        for (var bad : Map.of(
                        "{\"keys_per_second\": 0}",
                        "keys_per_second",
                        "{\"keys_per_second\": \"fast\"}",
                        "keys_per_second",
                        "{\"keys_per_second\": 1.5}",
                        "keys_per_second",
                        "{\"keys_per_second\": -3}",
                        "keys_per_second",
                        "{\"prefix\": \"\"}",
                        "prefix",
                        "{\"from_key\": \"a\\u0001\"}",
                        "from_key",
                        "{\"to_key\": \"" + "x".repeat(256) + "\"}",
                        "to_key",
                        "{\"from_key\": \"b\", \"to_key\": \"a\"}",
                        "to_key")
                .entrySet()) {
            var answer = admin.postJson("/actuator/rebuild", bad.getKey());
            assertProblem(answer, 400);
            assertThat(JsonPath.<String>read(answer.body(), "$.field"))
                    .as(bad.getKey())
                    .isEqualTo(bad.getValue());
        }
        assertThat(field(status(), "$.id")).as("no rebuild started").isEqualTo(before);
    }

    @Test
    void needsAnAdminKey() {
        var http = new LocalHttp(managementPort);
        assertThat(http.anonymous().get("/actuator/rebuild").statusCode()).isEqualTo(401);
        assertThat(http.anonymous().postJson("/actuator/rebuild", "{}").statusCode())
                .isEqualTo(401);
        assertThat(http.as(TestApiKeys.READER).get("/actuator/rebuild").statusCode())
                .isEqualTo(403);
        assertThat(http.as(TestApiKeys.WRITER).delete("/actuator/rebuild").statusCode())
                .isEqualTo(403);
        assertThat(admin.get("/actuator/rebuild").statusCode()).isEqualTo(200);
    }

    @Test
    void withTheWriteDatabaseDownStartIsRefusedAndARunningRebuildFails() throws Exception {
        for (int i = 0; i < 30; i++) {
            writes.write(prefix + "k" + i);
        }
        awaitProjected();
        try (var outage = outageOfTheWriteDatabase()) {
            var refused = admin.postJson("/actuator/rebuild", "{}");

            assertProblem(refused, 503);
            assertThat(JsonPath.<Number>read(refused.body(), "$.retry_after_seconds")
                            .intValue())
                    .isPositive();
            assertThat(refused.headers().firstValue("Retry-After")).hasValue("5");
            assertThat(finished(status())).as("nothing started").isTrue();
            var health = new LocalHttp(managementPort).get("/actuator/health");
            assertThat(health.statusCode())
                    .as("the projector does not need the write database")
                    .isEqualTo(200);
        }

        var started = admin.postJson("/actuator/rebuild", "{\"prefix\": \"" + prefix + "\", \"keys_per_second\": 2}");
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        await().atMost(PATIENCE)
                .until(() -> JsonPath.<Number>read(status(), "$.keys_done").longValue() > 0);
        try (var outage = outageOfTheWriteDatabase()) {
            await().atMost(PATIENCE)
                    .until(() -> JsonPath.<String>read(status(), "$.state").equals("failed"));
        }
        assertThat(JsonPath.<String>read(status(), "$.error")).isNotBlank();
        assertDualApplyOffAndNoShadow();
        assertReadModelEqualsWriteDatabase(prefix);
    }

    @Test
    void failsAndCleansUpARebuildWhoseInstanceDied() {
        // What an instance that died while copying leaves behind: its rebuild running, its shadow, the dual apply on.
        long id = transactions.execute(status -> {
            long started = jdbc.sql("""
                            insert into rebuilds (state, keys_per_second, keys_total, owner, heartbeat_at)
                            values ('copying', 10, 10, 'gone-1', now() - interval '1 hour') returning id
                            """).query(Long.class).single();
            jdbc.sql("create table records_shadow_" + started + " (key text primary key)")
                    .update();
            jdbc.sql("update projection_state set rebuild_table = ? where projection = 'records'")
                    .param("records_shadow_" + started)
                    .update();
            return started;
        });

        String status = status();

        assertThat(JsonPath.<Number>read(status, "$.id").longValue()).isEqualTo(id);
        assertThat(JsonPath.<String>read(status, "$.state")).isEqualTo("failed");
        assertThat(JsonPath.<String>read(status, "$.error")).contains("gone-1");
        assertDualApplyOffAndNoShadow();
        writes.write(prefix + "after");
        awaitProjected();
        assertThat(row(prefix + "after")).isPresent();
    }

    @Test
    void mergesCopyAndEventsInAnyOrderKeepingTheHighestVersionAndTheEarliestCreation() {
        var shadow = new ShadowTarget(ShadowTarget.tableOf(999_999), Scope.ALL);
        var first = java.time.Instant.parse("2026-11-28T10:00:00Z");
        shadows.create(shadow);
        try {
            // The event of version 3 reaches the shadow before the copy of its key, which read version 2 a moment
            // earlier; then a duplicate of version 3 and the event of version 2, late.
            shadows.merge(shadow, List.of(copied(prefix + "k", 3, first.plusSeconds(3), first.plusSeconds(3))));
            shadows.merge(shadow, List.of(copied(prefix + "k", 2, first, first.plusSeconds(2))));
            shadows.merge(shadow, List.of(copied(prefix + "k", 3, first.plusSeconds(3), first.plusSeconds(3))));
            shadows.merge(shadow, List.of(copied(prefix + "k", 2, first.plusSeconds(2), first.plusSeconds(2))));

            var row = jdbc.sql("select version, value, created_at, updated_at from " + shadow.table())
                    .query((rs, i) -> List.of(
                            rs.getLong(1),
                            rs.getString(2),
                            rs.getObject(3, OffsetDateTime.class).toInstant(),
                            rs.getObject(4, OffsetDateTime.class).toInstant()))
                    .single();
            assertThat(row).containsExactly(3L, "v3", first, first.plusSeconds(3));
        } finally {
            shadows.drop(shadow.table());
        }
    }

    static CopiedRow copied(String key, long version, java.time.Instant createdAt, java.time.Instant updatedAt) {
        return new CopiedRow(key, "v" + version, version, version, false, createdAt, updatedAt, version);
    }

    // --- helpers ---

    void rebuild(String body) {
        var started = admin.postJson("/actuator/rebuild", body);
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        await().atMost(PATIENCE).until(() -> finished(status()));
        assertThat(JsonPath.<String>read(status(), "$.state")).as(status()).isEqualTo("done");
        assertDualApplyOffAndNoShadow();
    }

    String status() {
        HttpResponse<String> answer = admin.get("/actuator/rebuild");
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        return answer.body();
    }

    /** A field of a JSON body, null when absent. */
    static @Nullable Object field(String body, String path) {
        return JsonPath.using(Configuration.defaultConfiguration().addOptions(Option.DEFAULT_PATH_LEAF_TO_NULL))
                .parse(body)
                .read(path);
    }

    static boolean finished(String status) {
        return List.of("idle", "done", "cancelled", "failed").contains(JsonPath.<String>read(status, "$.state"));
    }

    static void assertProblem(HttpResponse<String> answer, int status) {
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(status);
        assertThat(answer.headers().firstValue("Content-Type"))
                .hasValueSatisfying(type -> assertThat(type).startsWith("application/problem+json"));
        assertThat(JsonPath.<Integer>read(answer.body(), "$.status")).isEqualTo(status);
        assertThat(JsonPath.<String>read(answer.body(), "$.detail")).isNotBlank();
        assertThat(JsonPath.<Boolean>read(answer.body(), "$.success")).isFalse();
    }

    DatabaseOutage outageOfTheWriteDatabase() throws Exception {
        return DatabaseOutage.of(
                new JdbcConnectionDetails() {
                    @Override
                    public String getUsername() {
                        return WRITE_DB.username();
                    }

                    @Override
                    public @Nullable String getPassword() {
                        return WRITE_DB.password();
                    }

                    @Override
                    public String getJdbcUrl() {
                        return WRITE_DB.jdbcUrl();
                    }
                },
                WRITE_DB.name());
    }

    void awaitProjected() {
        try (var redis = connections.open(RedisURI.DEFAULT_TIMEOUT_DURATION)) {
            var inspector = new StreamInspector(redis.sync());
            await().atMost(PATIENCE)
                    .untilAsserted(() -> assertThat(
                                    inspector.inspect(stream.name()).group("projector"))
                            .hasValueSatisfying(g -> {
                                assertThat(g.pending()).as("pending").isZero();
                                assertThat(g.firstUnreadId()).as("first unread").isNull();
                            }));
        }
    }

    void addReads(String key, long reads) {
        jdbc.sql("update records set read_count = read_count + ? where key = ?")
                .params(reads, key)
                .update();
    }

    record Row(
            String key,
            @Nullable String value,
            long version,
            long writeCount,
            boolean deleted,
            long readCount,
            String createdAt,
            String updatedAt,
            long lastCommandId) {}

    Optional<Row> row(String key) {
        return jdbc.sql("select key, value, version, write_count, deleted, read_count, created_at::text,"
                        + " updated_at::text, last_command_id from records where key = ?")
                .param(key)
                .query((rs, i) -> new Row(
                        rs.getString(1),
                        rs.getString(2),
                        rs.getLong(3),
                        rs.getLong(4),
                        rs.getBoolean(5),
                        rs.getLong(6),
                        rs.getString(7),
                        rs.getString(8),
                        rs.getLong(9)))
                .optional();
    }

    Map<String, String> values(String keyPrefix) {
        var values = new java.util.TreeMap<String, String>();
        jdbc.sql("select key, coalesce(value, '<deleted>') from records where starts_with(key, ?)")
                .param(keyPrefix)
                .query(rs -> {
                    values.put(rs.getString(1), rs.getString(2));
                });
        return values;
    }

    /** Key by key, every column the write database determines, as the read model should hold it. */
    void assertReadModelEqualsWriteDatabase(String keyPrefix) {
        String expected = """
                select s.key, c.value, s.version, s.write_count, s.deleted,
                       (select min(f.created_at) from commands f where f.key = s.key) as created_at,
                       c.created_at as updated_at, c.id as last_command_id
                  from key_state s join commands c on c.key = s.key and c.version = s.version
                 where starts_with(s.key, ?) order by s.key""";
        String actual = """
                select key, value, version, write_count, deleted, created_at, updated_at, last_command_id
                  from records where starts_with(key, ?) order by key""";
        assertThat(table(jdbc, actual, keyPrefix)).isEqualTo(table(truth, expected, keyPrefix));
    }

    private static List<String> table(JdbcClient client, String sql, String keyPrefix) {
        return client.sql(sql)
                .param(keyPrefix)
                .query((rs, i) -> String.join(
                        " | ",
                        rs.getString("key"),
                        String.valueOf(rs.getString("value")),
                        rs.getString("version"),
                        rs.getString("write_count"),
                        rs.getString("deleted"),
                        rs.getObject("created_at", OffsetDateTime.class)
                                .toInstant()
                                .toString(),
                        rs.getObject("updated_at", OffsetDateTime.class)
                                .toInstant()
                                .toString(),
                        rs.getString("last_command_id")))
                .list();
    }

    void assertCountersMatchRows() {
        var counters = jdbc.sql("select records, total_writes from projection_state where projection = 'records'")
                .query((rs, i) -> List.of(rs.getLong(1), rs.getLong(2)))
                .single();
        var rows = jdbc.sql("select count(*) filter (where not deleted), coalesce(sum(write_count), 0) from records")
                .query((rs, i) -> List.of(rs.getLong(1), rs.getLong(2)))
                .single();
        assertThat(counters).as("projection_state records and total_writes").isEqualTo(rows);
    }

    void assertDualApplyOffAndNoShadow() {
        assertThat(jdbc.sql("select rebuild_table from projection_state where projection = 'records'")
                        .query(String.class)
                        .optional())
                .isEmpty();
        assertThat(jdbc.sql("select count(*) from pg_tables where tablename like 'records_shadow_%'")
                        .query(Long.class)
                        .single())
                .isZero();
    }
}
