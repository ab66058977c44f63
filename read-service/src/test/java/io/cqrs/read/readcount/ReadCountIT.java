package io.cqrs.read.readcount;

import static io.cqrs.read.ReadHttp.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.read.ProjectorDouble;
import io.cqrs.read.ReadHttp;
import io.cqrs.read.ReadServiceTest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;

@ReadServiceTest
class ReadCountIT {

    @LocalServerPort
    int port;

    @Autowired
    ProjectorDouble projector;

    @Test
    void countsAThousandConcurrentReadsExactly() throws Exception {
        String key = "hot-" + System.nanoTime();
        projector.write(key, "popular", 1);
        var http = new ReadHttp(port);

        List<Future<HttpResponse<String>>> reads = new ArrayList<>();
        try (var clients = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 1000; i++) {
                reads.add(clients.submit(() -> http.read(key)));
            }
        }

        var counts = new ArrayList<Long>();
        for (var read : reads) {
            HttpResponse<String> response = read.get();
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            counts.add(json(response).read("$.read_count", Long.class));
        }
        // Every read saw its own count: 1..1000, each once.
        assertThat(counts)
                .containsExactlyInAnyOrderElementsOf(
                        LongStream.rangeClosed(1, 1000).boxed().toList());
        await().atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(projector
                                .jdbc()
                                .queryForObject("select read_count from records where key = ?", Long.class, key))
                        .isEqualTo(1000));
    }

    @Test
    void keepsTotalReadsEqualToTheSumOfStoredCounts() {
        String key = "total-" + System.nanoTime();
        projector.write(key, "counted", 1);
        var http = new ReadHttp(port);
        for (int i = 0; i < 25; i++) {
            assertThat(http.read(key).statusCode()).isEqualTo(200);
        }

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(projector.jdbc().queryForObject("select read_count from records where key = ?", Long.class, key))
                    .isEqualTo(25);
            assertThat(projector.jdbc().queryForObject("select total_reads from read_totals", Long.class))
                    .isEqualTo(projector.jdbc().queryForObject("select sum(read_count) from records", Long.class));
        });
    }

    @Test
    void doesNotCountNotFoundReads() {
        String key = "gone-" + System.nanoTime();
        projector.write(key, "here", 1);
        var http = new ReadHttp(port);
        http.read(key);
        projector.delete(key, 2);
        await().atMost(Duration.ofSeconds(10)).until(() -> http.read(key).statusCode() == 404);

        await().atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(projector
                                .jdbc()
                                .queryForObject("select read_count from records where key = ?", Long.class, key))
                        .isEqualTo(1));
    }
}
