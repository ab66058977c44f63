package io.cqrs.write;

import static io.cqrs.write.WriteApiIT.json;
import static io.cqrs.write.WriteApiIT.key;
import static io.cqrs.write.WriteApiIT.ok;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.jayway.jsonpath.JsonPath;
import io.cqrs.events.EventCodec;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.RealServers;
import io.cqrs.testsupport.RedisProcess;
import io.cqrs.testsupport.TestStream;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The outbox under a Redis outage: writes keep succeeding, events queue, and all of them arrive once Redis is back.
 * Redis restarts empty here, so the stream loss check is put off: its replay would unpublish rows under the tests'
 * feet (StreamLossIT tests it).
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "cqrs.outbox.sweep-interval=200ms",
            "cqrs.outbox.sweep-delay=500ms",
            "cqrs.outbox.max-backoff=1s",
            "cqrs.outbox.cleanup-interval=200ms",
            "cqrs.outbox.loss-check-interval=1h"
        })
@Import({RealServers.class, OutboxIT.OwnRedis.class})
class OutboxIT {

    static final RedisProcess REDIS = RedisProcess.start();

    /** This context's Redis is one the test can kill and restart. */
    @TestConfiguration(proxyBeanMethods = false)
    static class OwnRedis {
        @Bean
        @Primary
        DataRedisConnectionDetails ownRedis() {
            return REDIS.connectionDetails();
        }
    }

    @LocalServerPort
    int port;

    @LocalManagementPort
    int managementPort;

    @Autowired
    JdbcClient jdbc;

    @Autowired
    TestStream stream;

    @AfterAll
    static void stopRedis() {
        REDIS.close();
    }

    @Test
    void writesSucceedWhileRedisIsDownAndEveryEventIsPublishedOnceItIsBack() {
        var http = new LocalHttp(port);
        ok(http.postJson("/write", json(key("before"), "v")));
        REDIS.stop();

        var commandIds = new ArrayList<Long>();
        for (int i = 0; i < 20; i++) {
            var body = ok(http.postJson("/write", json(key("during"), "v" + i)));
            assertThat(body.read("$.event_id", String.class)).isNull();
            assertThat(body.read("$.message", String.class)).contains("event queued");
            commandIds.add(body.read("$.command_id", Long.class));
        }
        var health = JsonPath.parse(
                new LocalHttp(managementPort).get("/actuator/health").body());
        assertThat(health.read("$.components.outbox.details.backlog", Long.class))
                .isGreaterThanOrEqualTo(20);
        assertThat(new LocalHttp(managementPort)
                        .get("/actuator/health/readiness")
                        .statusCode())
                .isEqualTo(200);
        assertThat(ok(http.get("/stats")).read("$.outbox_backlog", Long.class)).isGreaterThanOrEqualTo(20);

        REDIS.restart();

        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(publishedCommandIds()).containsAll(commandIds));
        await().atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(jdbc.sql("select count(*) from outbox where published_at is null")
                                .query(Long.class)
                                .single())
                        .isZero());
        assertThat(jdbc.sql("select count(*) from outbox where command_id = any(?) and last_error is null")
                        .param(commandIds.stream().mapToLong(Long::longValue).toArray())
                        .query(Long.class)
                        .single())
                .isEqualTo(commandIds.size());
    }

    @Test
    void marksAWritesOutboxRowPublishedWithTheStreamIdItsAnswerGave() {
        // The publisher's mark (one statement, its own transaction): the sweeper would have added the event again,
        // under another stream id.
        var body = ok(new LocalHttp(port).postJson("/write", json(key("marked"), "v")));
        String eventId = body.read("$.event_id", String.class);
        long commandId = body.read("$.command_id", Long.class);
        assertThat(eventId).isNotNull();

        await().atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(jdbc.sql("""
                                        select stream_id, attempts, published_at is not null and last_error is null
                                        from outbox where command_id = ?
                                        """)
                                .param(commandId)
                                .query((rs, row) -> List.of(rs.getString(1), rs.getInt(2), rs.getBoolean(3)))
                                .single())
                        .containsExactly(eventId, 1, true));
    }

    @Test
    void theSweeperPublishesCommandsLeftUnpublishedByACrash() {
        // As if the process died between commit and publish: the command and its outbox row, nothing on the stream.
        long id = jdbc.sql("""
                        insert into commands (key, version, op, value, write_count) values (?, 1, 'write', 'orphan', 1)
                        returning id
                        """).param(key("orphan")).query(Long.class).single();
        jdbc.sql("insert into outbox (command_id) values (?)").param(id).update();

        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(publishedCommandIds()).contains(id));
        assertThat(jdbc.sql("select stream_id from outbox where command_id = ?")
                        .param(id)
                        .query(String.class)
                        .single())
                .isNotNull();
    }

    @Test
    void theSweeperPublishesATracedRowsTraceparentBesideItsEvent() {
        String traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        long id = jdbc.sql("""
                        insert into commands (key, version, op, value, write_count) values (?, 1, 'write', 'traced', 1)
                        returning id
                        """).param(key("traced")).query(Long.class).single();
        jdbc.sql("insert into outbox (command_id, traceparent) values (?, ?)")
                .params(id, traceparent)
                .update();

        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(publishedTraceparents()).containsEntry(id, traceparent));
    }

    @Test
    void deletesPublishedRowsAndIdempotencyKeysPastTheirRetentionAndKeepsTheRest() {
        long old = insertPublished(key("old"), "now() - interval '25 hours'");
        long recent = insertPublished(key("recent"), "now() - interval '1 hour'");
        jdbc.sql("insert into idempotency_keys (idempotency_key, request_hash, command_ids, created_at)"
                        + " values ('expired-key', 'h', '{}', now() - interval '25 hours')")
                .update();

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(count("select count(*) from outbox where command_id = ?", old))
                    .isZero();
            assertThat(count("select count(*) from idempotency_keys where idempotency_key = ?", "expired-key"))
                    .isZero();
        });
        assertThat(count("select count(*) from outbox where command_id = ?", recent))
                .isOne();
        assertThat(count("select count(*) from commands where id = ?", old))
                .as("the command log itself is never cleaned up")
                .isOne();
    }

    private long count(String sql, Object parameter) {
        return jdbc.sql(sql).param(parameter).query(Long.class).single();
    }

    private long insertPublished(String key, String publishedAt) {
        long id = jdbc.sql("insert into commands (key, version, op, value, write_count) values (?, 1, 'write', 'v', 1)"
                        + " returning id")
                .param(key)
                .query(Long.class)
                .single();
        jdbc.sql("insert into outbox (command_id, published_at, stream_id) values (?, " + publishedAt + ", '1-0')")
                .param(id)
                .update();
        return id;
    }

    /** Command id → the traceparent its entry carries, for the entries that carry one. */
    private java.util.Map<Long, String> publishedTraceparents() {
        var client = RedisClient.create(REDIS.uri());
        try (var connection = client.connect()) {
            var traceparents = new java.util.HashMap<Long, String>();
            connection.sync().xrange(stream.name(), Range.unbounded()).forEach(e -> {
                String traceparent = EventCodec.traceparent(e.getBody());
                if (traceparent != null) {
                    traceparents.put(EventCodec.decode(e.getBody()).commandId(), traceparent);
                }
            });
            return traceparents;
        } finally {
            client.shutdown();
        }
    }

    private Set<Long> publishedCommandIds() {
        var client = RedisClient.create(REDIS.uri());
        try (var connection = client.connect()) {
            Set<Long> ids = new HashSet<>();
            List<io.lettuce.core.StreamMessage<String, String>> entries =
                    connection.sync().xrange(stream.name(), Range.unbounded());
            entries.forEach(e -> ids.add(EventCodec.decode(e.getBody()).commandId()));
            return ids;
        } finally {
            client.shutdown();
        }
    }
}
