package io.cqrs.read.query;

import static io.cqrs.read.ReadHttp.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.jayway.jsonpath.DocumentContext;
import io.cqrs.read.ProjectorDouble;
import io.cqrs.read.ReadHttp;
import io.cqrs.read.ReadServiceTest;
import io.cqrs.read.cache.NearCache;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * The near cache's warm-up, as clients see it. As in {@code CachedReadsIT}, a row changed without its notification
 * shows where a read came from: the warmed value is served although no client ever read the key before.
 */
@ReadServiceTest
class CacheWarmupIT {

    private static final Duration PATIENCE = Duration.ofSeconds(10);

    @LocalServerPort
    int port;

    @Autowired
    ProjectorDouble projector;

    @Autowired
    NearCache<StoredRecord> cache;

    @Autowired
    MeterRegistry meters;

    ReadHttp http;

    @BeforeEach
    void cacheIsInUse() {
        http = new ReadHttp(port);
        await().atMost(PATIENCE).until(cache::isActive);
    }

    private DocumentContext read(String key) {
        HttpResponse<String> response = http.read(key);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return json(response);
    }

    private double warmed() {
        return meters.get("cqrs.read.cache.warmed").counter().count();
    }

    /** What happens when the commit notifications are back after a loss, and at start. */
    private void cacheComesBackIntoUse() {
        cache.suspend();
        cache.resume();
    }

    @Test
    void servesRecordsNobodyReadYetFromTheCacheWithTheirStoredReadCounts() {
        String key = "warm-" + System.nanoTime();
        projector.write(key, "v1", 1);
        projector.jdbc().update("update records set read_count = 41 where key = ?", key);
        double before = warmed();

        cacheComesBackIntoUse();

        await().atMost(PATIENCE).until(() -> warmed() > before);
        projector.writeUnannounced(key, "v2", 2);
        var answer = read(key);
        assertThat(answer.read("$.value", String.class))
                .as("served from the cache")
                .isEqualTo("v1");
        assertThat(answer.read("$.read_count", Long.class)).isEqualTo(42);
    }

    @Test
    void neverKeepsARecordCommittedAfterItWasLoaded() {
        String key = "warm-moved-" + System.nanoTime();
        projector.write(key, "v1", 1);
        double before = warmed();
        cacheComesBackIntoUse();
        await().atMost(PATIENCE).until(() -> warmed() > before);

        projector.write(key, "v2", 2);

        await().atMost(PATIENCE)
                .until(() -> read(key).read("$.value", String.class).equals("v2"));
    }

    @Test
    void leavesDeletedRecordsOut() {
        String deleted = "warm-deleted-" + System.nanoTime();
        projector.write(deleted, "v1", 1);
        projector.delete(deleted, 2);
        String live = "warm-live-" + System.nanoTime();
        projector.write(live, "v1", 1);
        double before = warmed();

        cacheComesBackIntoUse();

        await().atMost(PATIENCE).until(() -> warmed() > before);
        assertThat(cache.get(deleted)).isInstanceOf(NearCache.Miss.class);
        assertThat(cache.get(live)).isInstanceOf(NearCache.Hit.class);
    }
}
