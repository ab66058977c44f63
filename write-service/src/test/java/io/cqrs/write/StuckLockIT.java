package io.cqrs.write;

import static org.assertj.core.api.Assertions.assertThat;

import com.jayway.jsonpath.JsonPath;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.RealServers;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * A key locked by a transaction that does not end (a stuck session, an operator's open transaction): its write fails
 * after {@code lock_timeout} with a 503 that says nothing was written, and that is true; the other writes of its group
 * go through. The request's own wait is longer than the lock timeout, so its outcome never becomes unknown.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"CQRS_WRITE_LOCK_TIMEOUT=1s", "cqrs.write.commit-timeout=4s"})
@Import(RealServers.class)
class StuckLockIT {

    @LocalServerPort
    int port;

    @Autowired
    DataSource dataSource;

    @Autowired
    JdbcClient jdbc;

    @Test
    void aWriteToAKeyHeldByAStuckTransactionFailsHonestlyAndTheOthersGoThrough() throws Exception {
        var http = new LocalHttp(port);
        String stuck = "stuck-" + UUID.randomUUID();
        String free = "free-" + UUID.randomUUID();
        assertThat(http.postJson("/write", json(stuck, "v1")).statusCode()).isEqualTo(200);

        HttpResponse<String> refused;
        HttpResponse<String> accepted;
        try (Connection holder = dataSource.getConnection();
                var clients = Executors.newVirtualThreadPerTaskExecutor()) {
            holder.setAutoCommit(false);
            try (var lock = holder.prepareStatement("select * from key_state where key = ? for update")) {
                lock.setString(1, stuck);
                lock.executeQuery().close();
            }
            var toStuck = CompletableFuture.supplyAsync(() -> http.postJson("/write", json(stuck, "v2")), clients);
            var toFree = CompletableFuture.supplyAsync(() -> http.postJson("/write", json(free, "v")), clients);
            refused = toStuck.get();
            accepted = toFree.get();
            holder.rollback();
        }

        assertThat(accepted.statusCode()).isEqualTo(200);
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
        assertThat(refused.headers().firstValue("Retry-After")).isPresent();
        assertThat(JsonPath.parse(refused.body()).read("$.detail", String.class))
                .contains("nothing was written")
                .doesNotContain("may");
        assertThat(jdbc.sql("select version from key_state where key = ?")
                        .param(stuck)
                        .query(Long.class)
                        .single())
                .as("nothing was written, as the answer said")
                .isEqualTo(1);
        assertThat(http.postJson("/write", json(stuck, "v2")).statusCode()).isEqualTo(200);
    }

    private static String json(String key, String value) {
        return "{\"key\":\"" + key + "\",\"value\":\"" + value + "\"}";
    }
}
