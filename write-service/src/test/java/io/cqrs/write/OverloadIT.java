package io.cqrs.write;

import static io.cqrs.write.WriteApiIT.json;
import static io.cqrs.write.WriteApiIT.key;
import static io.cqrs.write.WriteApiIT.ok;
import static io.cqrs.write.WriteApiIT.problem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.RealServers;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/** When the write database falls behind, queued writes are bounded: the excess gets a fast 503, the rest commits. */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "cqrs.write.max-queued-commands=5",
            "cqrs.write.max-queued-bytes=300KB",
            "cqrs.write.committers=1",
            // The committer must wait on the held lock for as long as the test needs, not give up after 2 s.
            "CQRS_WRITE_LOCK_TIMEOUT=60s"
        })
@Import(RealServers.class)
class OverloadIT {

    @LocalServerPort
    int port;

    @LocalManagementPort
    int managementPort;

    @Autowired
    JdbcClient jdbc;

    @Autowired
    PlatformTransactionManager transactionManager;

    @Test
    void refusesWritesBeyondTheQueueBoundWithRetryAfterAndCommitsTheRest() throws Exception {
        var refused = queueBehindAHeldKeyThenWrite(5, "queued", key("one-too-many"));

        problem(refused.refused(), 503, "urn:cqrs:problem:write-store-unavailable");
        assertThat(refused.refused().headers().firstValue("Retry-After")).hasValue("1");
        assertThat(refused.versions()).containsExactlyInAnyOrder(2L, 3L, 4L, 5L, 6L, 7L);
    }

    @Test
    void refusesWritesBeyondTheQueueBoundInBytesToo() throws Exception {
        // Two values of 60,000 characters take about 240 KB queued; a third would pass the 300 KB bound.
        String large = "x".repeat(60_000);
        var refused = queueBehindAHeldKeyThenWrite(2, large, key("one-too-large"));

        problem(refused.refused(), 503, "urn:cqrs:problem:write-store-unavailable");
        assertThat(refused.versions()).hasSize(3);
    }

    private record Queued(HttpResponse<String> refused, List<Long> versions) {}

    /**
     * Holds a key's state row so that the only committer waits on it, queues {@code queued} writes behind it (value
     * {@code value} + i), then sends one more write of {@code value} to {@code lastKey}; returns that answer and the
     * versions the others got once the key is released.
     */
    private Queued queueBehindAHeldKeyThenWrite(int queued, String value, String lastKey) throws Exception {
        var http = new LocalHttp(port);
        String blocked = key("blocked");
        ok(http.postJson("/write", json(blocked, "v0")));
        var accepted = new ArrayList<CompletableFuture<HttpResponse<String>>>();
        HttpResponse<String> refused;

        try (var requests = Executors.newVirtualThreadPerTaskExecutor()) {
            var lockHeld = new CompletableFuture<Void>();
            var release = new CompletableFuture<Void>();
            var holder = CompletableFuture.runAsync(
                    () -> new TransactionTemplate(transactionManager).executeWithoutResult(status -> {
                        jdbc.sql("select 1 from key_state where key = ? for update")
                                .param(blocked)
                                .query(Integer.class)
                                .single();
                        lockHeld.complete(null);
                        release.join();
                    }),
                    requests);
            lockHeld.join();
            accepted.add(CompletableFuture.supplyAsync(() -> http.postJson("/write", json(blocked, "v1")), requests));
            await().atMost(Duration.ofSeconds(10)).until(() -> queued() == 0 && groupInFlight());
            for (int i = 0; i < queued; i++) {
                String each = value + i;
                accepted.add(
                        CompletableFuture.supplyAsync(() -> http.postJson("/write", json(blocked, each)), requests));
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> queued() == queued);

            refused = http.postJson("/write", json(lastKey, value));

            release.complete(null);
            holder.join();
        }
        var versions = accepted.stream()
                .map(f -> ok(f.join()).read("$.version", Long.class))
                .toList();
        return new Queued(refused, versions);
    }

    private boolean groupInFlight() {
        return jdbc.sql("select count(*) from pg_locks l join pg_stat_activity a using (pid)"
                                + " where not l.granted and a.datname = current_database()")
                        .query(Long.class)
                        .single()
                > 0;
    }

    private long queued() {
        return new LocalHttp(managementPort)
                .get("/actuator/prometheus")
                .body()
                .lines()
                .filter(line -> line.startsWith("cqrs_write_queued_commands"))
                .mapToLong(line -> (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
                .findFirst()
                .orElseThrow();
    }
}
