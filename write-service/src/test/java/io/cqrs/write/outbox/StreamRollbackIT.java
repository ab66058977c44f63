package io.cqrs.write.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.events.EventCodec;
import io.cqrs.testsupport.RealServers;
import io.cqrs.testsupport.RedisProcess;
import io.cqrs.testsupport.TestStream;
import io.cqrs.write.outbox.StreamLossDetector.Outcome;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * A real Redis restarted from an older RDB snapshot ({@code SAVE}, more writes, {@code kill -9}, the old
 * {@code dump.rdb} put back): the events published after the snapshot are gone from the stream although the mark
 * beside it survived, and the write side republishes them. The scheduled check is slowed down so that each test sets
 * the marks itself; the sweeper runs as usual.
 */
@SpringBootTest(
        properties = {
            "cqrs.outbox.sweep-interval=200ms",
            "cqrs.outbox.sweep-delay=500ms",
            "cqrs.outbox.max-backoff=1s",
            "cqrs.outbox.loss-check-interval=1h"
        })
@Import({RealServers.class, StreamRollbackIT.OwnRedis.class})
class StreamRollbackIT {

    static final Path DIR = temporaryDirectory();
    static final RedisProcess REDIS = RedisProcess.startIn(DIR);

    /** This context's Redis is one the test can restart from a snapshot. */
    @TestConfiguration(proxyBeanMethods = false)
    static class OwnRedis {
        @Bean
        @Primary
        DataRedisConnectionDetails ownRedis() {
            return REDIS.connectionDetails();
        }
    }

    @Autowired
    JdbcClient jdbc;

    @Autowired
    TestStream stream;

    @Autowired
    StreamLossDetector detector;

    @AfterAll
    static void stopRedis() throws IOException {
        REDIS.close();
        try (var files = Files.list(DIR)) {
            for (Path file : files.toList()) {
                Files.delete(file);
            }
        }
        Files.delete(DIR);
    }

    @Test
    void republishesWhatASnapshotRestoreRolledBack() {
        detector.check();
        Set<Long> inSnapshot = publish("in-snapshot");
        detector.check();
        Path snapshot = save();
        detector.check();
        detector.check(); // the clock moves on past the snapshot's mark
        Set<Long> afterSnapshot = publish("after-snapshot");

        restartFrom(snapshot);
        assertThat(streamCommandIds()).as("lost with the restore").doesNotContainAnyElementsOf(afterSnapshot);
        var check = checkOnceRedisAnswers();

        assertThat(check.outcome()).isEqualTo(Outcome.ROLLED_BACK);
        assertThat(check.rows()).isGreaterThanOrEqualTo(afterSnapshot.size());
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(streamCommandIds())
                        .containsAll(afterSnapshot)
                        .containsAll(inSnapshot));
        assertThat(detector.check().outcome()).isEqualTo(Outcome.INTACT);
    }

    @Test
    void republishesWhatFollowedTheLatestMarkWhenRedisComesBackWithout() {
        publish("before-mark"); // so that the snapshot holds the stream (one missing counts as a total loss)
        detector.check();
        Path snapshot = save(); // holds the latest mark: what an AOF cut short a moment after it holds
        Set<Long> afterMark = publish("after-mark");

        restartFrom(snapshot);
        var check = checkOnceRedisAnswers();

        assertThat(check.outcome())
                .as("the mark is the latest, but Redis is another process")
                .isEqualTo(Outcome.RESTARTED);
        assertThat(check.rows()).isGreaterThanOrEqualTo(afterMark.size());
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(streamCommandIds()).containsAll(afterMark));
        assertThat(detector.check().outcome()).isEqualTo(Outcome.INTACT);
    }

    /** Three events through the outbox, once all three are on the stream. */
    private Set<Long> publish(String name) {
        var ids =
                Set.of(insertUnpublished(name + "-1"), insertUnpublished(name + "-2"), insertUnpublished(name + "-3"));
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(streamCommandIds()).containsAll(ids));
        return ids;
    }

    private Path save() {
        redis(RedisCommands::save);
        try {
            return Files.copy(
                    DIR.resolve("dump.rdb"),
                    DIR.resolve("snapshot-" + UUID.randomUUID() + ".rdb"),
                    StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code kill -9}, the snapshot put back as the dump Redis starts from, and a start. */
    private void restartFrom(Path snapshot) {
        REDIS.stop();
        try {
            Files.copy(snapshot, DIR.resolve("dump.rdb"), StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        REDIS.restart();
    }

    /** Until the detector's connection is back, Redis rejects its commands, before the check changed anything. */
    private StreamLossDetector.Check checkOnceRedisAnswers() {
        return await().atMost(Duration.ofSeconds(10))
                .ignoreExceptionsInstanceOf(RedisException.class)
                .until(detector::check, Objects::nonNull);
    }

    private long insertUnpublished(String name) {
        long id = jdbc.sql("insert into commands (key, version, op, value, write_count) values (?, 1, 'write', 'v', 1)"
                        + " returning id")
                .param(name + "-" + UUID.randomUUID())
                .query(Long.class)
                .single();
        jdbc.sql("insert into outbox (command_id) values (?)").param(id).update();
        return id;
    }

    private Set<Long> streamCommandIds() {
        return redis(commands -> {
            Set<Long> ids = new HashSet<>();
            commands.xrange(stream.name(), Range.unbounded())
                    .forEach(e -> ids.add(EventCodec.decode(e.getBody()).commandId()));
            return ids;
        });
    }

    private static <T> T redis(Function<RedisCommands<String, String>, T> action) {
        var client = RedisClient.create(REDIS.uri());
        try (var connection = client.connect()) {
            return action.apply(connection.sync());
        } finally {
            client.shutdown();
        }
    }

    private static Path temporaryDirectory() {
        try {
            return Files.createTempDirectory("stream-rollback-redis");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
