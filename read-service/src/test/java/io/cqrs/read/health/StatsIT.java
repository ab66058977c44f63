package io.cqrs.read.health;

import static io.cqrs.read.ReadHttp.json;
import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.read.ProjectorDouble;
import io.cqrs.read.ReadHttp;
import io.cqrs.read.ReadServiceTest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;

@ReadServiceTest
class StatsIT {

    @LocalServerPort
    int port;

    @Autowired
    ProjectorDouble projector;

    @AfterEach
    void projectorCaughtUp() {
        projector.catchUp();
    }

    @Test
    void reportsTheMaintainedCountersAndTheStream() {
        projector.catchUp();
        long publishedBefore = published();
        projector.jdbc().update("""
                        update projection_state set records = 7, total_writes = 19, events_applied = 20,
                            events_stale = 3, events_dead_lettered = 2, last_event_id = '1700000000000-5',
                            last_applied_at = '2026-11-21T05:00:00.123456Z'
                        where projection = 'records'
                        """);
        projector.publish("a");
        projector.publish("b");
        projector.publish("c");
        projector.deliver(); // three delivered, not acknowledged
        projector.publish("d"); // one not delivered

        HttpResponse<String> response = new ReadHttp(port).get("/stats");

        assertThat(response.statusCode()).isEqualTo(200);
        var body = json(response);
        Map<String, Object> stats = body.read("$");
        assertThat(stats)
                .containsOnlyKeys(
                        "records",
                        "total_reads",
                        "total_writes",
                        "events_published",
                        "events_projected",
                        "events_dead_lettered",
                        "stream",
                        "projection")
                .containsEntry("records", 7)
                .containsEntry("total_writes", 19)
                .containsEntry("events_projected", 23)
                .containsEntry("events_dead_lettered", 2);
        assertThat(body.read("$.events_published", Long.class)).isEqualTo(publishedBefore + 4);
        assertThat(body.<Map<String, Object>>read("$.stream"))
                .containsEntry("name", projector.streamName())
                .containsEntry("group", ProjectorDouble.GROUP)
                .containsEntry("pending", 3)
                .containsEntry("group_lag", 1);
        assertThat(body.read("$.stream.length", Long.class)).isEqualTo(publishedBefore + 4);
        assertThat(body.read("$.projection.last_event_id", String.class)).isEqualTo("1700000000000-5");
        assertThat(Instant.parse(body.read("$.projection.last_applied_at", String.class)))
                .isEqualTo(Instant.parse("2026-11-21T05:00:00.123456Z"));
        assertThat(body.read("$.projection.lag_seconds", Double.class)).isNotNegative();
    }

    @Test
    void movesWithWhatTheProjectorApplies() {
        var http = new ReadHttp(port);
        Map<String, Object> before = json(http.get("/stats")).read("$");
        String key = "stats-projected-" + System.nanoTime();

        projector.write(key, "v1", 1);
        projector.write(key, "v2", 2);
        projector.write(key, "v1 again", 1); // stale: the version guard skips it, and it is counted as projected
        projector.delete(key, 3);

        Map<String, Object> after = json(http.get("/stats")).read("$");
        assertThat(after.get("records")).isEqualTo(before.get("records"));
        assertThat(((Number) after.get("total_writes")).longValue())
                .isEqualTo(((Number) before.get("total_writes")).longValue() + 2);
        assertThat(((Number) after.get("events_projected")).longValue())
                .isEqualTo(((Number) before.get("events_projected")).longValue() + 4);
    }

    @Test
    void includesReadsNotFlushedYetInTotalReads() {
        String key = "stats-" + System.nanoTime();
        projector.write(key, "v", 1);
        var http = new ReadHttp(port);
        long before = totalReads(http);

        for (int i = 0; i < 5; i++) {
            assertThat(http.read(key).statusCode()).isEqualTo(200);
        }

        assertThat(totalReads(http)).isEqualTo(before + 5);
    }

    private long published() {
        return json(new ReadHttp(port).get("/stats")).read("$.events_published", Long.class);
    }

    private static long totalReads(ReadHttp http) {
        return json(http.get("/stats")).read("$.total_reads", Long.class);
    }
}
