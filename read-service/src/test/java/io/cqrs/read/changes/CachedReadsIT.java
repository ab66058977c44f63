package io.cqrs.read.changes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.read.ProjectorDouble;
import io.cqrs.read.ReadHttp;
import io.cqrs.read.ReadServiceTest;
import io.cqrs.read.cache.NearCache;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * The near cache as clients see it. A row changed without its notification stands for the moment between a commit
 * and the arrival of its notice: a cached value is still served then, which shows the read came from the cache. The
 * same shows that the warm-up cached a record no client had read.
 */
@ReadServiceTest
class CachedReadsIT {

    private static final Duration PATIENCE = Duration.ofSeconds(10);

    @LocalServerPort
    int port;

    @Autowired
    ProjectorDouble projector;

    @Autowired
    ChangeListener listener;

    @Autowired
    NearCache<?> cache;

    @Autowired
    MeterRegistry meters;

    ReadHttp http;

    @BeforeEach
    void listenerIsUp() {
        http = new ReadHttp(port);
        await().atMost(PATIENCE).until(listener::isListening);
    }

    private String valueOf(String key) {
        return http.found(key).read("$.value", String.class);
    }

    @Test
    void servesTheCachedValueUntilTheNotificationOfANewerVersion() {
        String key = "cached-" + System.nanoTime();
        projector.write(key, "v1", 1);
        assertThat(valueOf(key)).isEqualTo("v1");

        projector.writeUnannounced(key, "v2", 2);
        assertThat(valueOf(key)).as("served from the cache").isEqualTo("v1");

        projector.announce(key, 2);
        await().atMost(PATIENCE).until(() -> valueOf(key).equals("v2"));
    }

    /**
     * A read that waited for its version reads the database once woken, and the cache keeps what it read: the next
     * read-your-writes read of the key finds the version before it there and waits without a query of its own.
     */
    @Test
    void keepsWhatAWaitingReadFoundForTheNextRead() {
        String key = "cached-waited-" + System.nanoTime();
        projector.write(key, "v1", 1);
        assertThat(valueOf(key)).isEqualTo("v1");
        double waitingBefore = meters.get("cqrs.read.waiters").gauge().value();
        CompletableFuture<HttpResponse<String>> waited =
                CompletableFuture.supplyAsync(() -> http.read(key, "min_version=2&wait_ms=10000"));
        await().atMost(PATIENCE)
                .until(() -> meters.get("cqrs.read.waiters").gauge().value() > waitingBefore);

        projector.write(key, "v2", 2);
        HttpResponse<String> response = waited.join();
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        assertThat(ReadHttp.json(response).read("$.value", String.class)).isEqualTo("v2");

        projector.writeUnannounced(key, "v3", 3);
        assertThat(valueOf(key)).as("served from the cache").isEqualTo("v2");
    }

    @Test
    void forgetsADeletedKeyOnItsNotification() {
        String key = "cached-delete-" + System.nanoTime();
        projector.write(key, "v1", 1);
        assertThat(valueOf(key)).isEqualTo("v1");

        projector.delete(key, 2);

        await().atMost(PATIENCE).until(() -> http.read(key).statusCode() == 404);
    }

    @Test
    void servesAKeyWrittenAfterItWasReadAsMissing() {
        String key = "cached-late-" + System.nanoTime();
        assertThat(http.read(key).statusCode()).isEqualTo(404);

        projector.write(key, "arrived", 1);

        await().atMost(PATIENCE).until(() -> http.read(key).statusCode() == 200);
        assertThat(valueOf(key)).isEqualTo("arrived");
    }

    @Test
    void emptiesTheCacheWhenNotificationsDropAndUsesItAgainOnceTheyAreBack() {
        String key = "cached-drop-" + System.nanoTime();
        projector.write(key, "v1", 1);
        assertThat(valueOf(key)).isEqualTo("v1");
        projector.writeUnannounced(key, "v2", 2);
        assertThat(valueOf(key)).isEqualTo("v1");

        Integer terminated = projector
                .jdbc()
                .queryForObject(
                        "select count(pg_terminate_backend(pid))::int from pg_stat_activity"
                                + " where application_name = ? and datname = current_database()",
                        Integer.class,
                        ChangeListener.APPLICATION_NAME);
        assertThat(terminated).isEqualTo(1);

        // Whether the listener is still reconnecting or already back, the stale value is gone for good.
        await().atMost(PATIENCE).until(() -> valueOf(key).equals("v2"));
        await().atMost(PATIENCE).until(listener::isListening);
        assertThat(valueOf(key)).isEqualTo("v2");
        assertThat(cache.isActive()).isTrue();

        projector.writeUnannounced(key, "v3", 3);
        assertThat(valueOf(key)).as("cached again").isEqualTo("v2");
        projector.announce(key, 3);
        await().atMost(PATIENCE).until(() -> valueOf(key).equals("v3"));
    }

    private double warmed() {
        return meters.get("cqrs.read.cache.warmed").counter().count();
    }

    /** What happens at start, and when the commit notifications are back after a loss: the warm-up runs. */
    private void cacheComesBackIntoUse() {
        double before = warmed();
        cache.suspend();
        cache.resume();
        await().atMost(PATIENCE).until(() -> warmed() > before);
    }

    @Test
    void warmsUpWithRecordsNobodyReadYetAndTheirStoredReadCounts() {
        String key = "warm-" + System.nanoTime();
        projector.write(key, "v1", 1);
        // 41 reads counted and stored by another instance: its flush adds to the total in the same transaction.
        projector.jdbc().update("""
                with counted as (update records set read_count = read_count + 41 where key = ? returning 1)
                update read_totals set total_reads = total_reads + 41 where exists (select from counted)
                """, key);

        cacheComesBackIntoUse();

        projector.writeUnannounced(key, "v2", 2);
        var answer = http.found(key);
        assertThat(answer.read("$.value", String.class))
                .as("served from the cache")
                .isEqualTo("v1");
        assertThat(answer.read("$.read_count", Long.class)).isEqualTo(42);
    }

    @Test
    void dropsAWarmedRecordOnTheNotificationOfANewerVersion() {
        String key = "warm-moved-" + System.nanoTime();
        projector.write(key, "v1", 1);
        cacheComesBackIntoUse();

        projector.write(key, "v2", 2);

        await().atMost(PATIENCE).until(() -> valueOf(key).equals("v2"));
    }

    @Test
    void leavesDeletedRecordsOutOfTheWarmUp() {
        String deleted = "warm-deleted-" + System.nanoTime();
        projector.write(deleted, "v1", 1);
        projector.delete(deleted, 2);
        String live = "warm-live-" + System.nanoTime();
        projector.write(live, "v1", 1);

        cacheComesBackIntoUse();

        assertThat(cache.get(deleted)).isInstanceOf(NearCache.Miss.class);
        assertThat(cache.get(live)).isInstanceOf(NearCache.Hit.class);
    }
}
