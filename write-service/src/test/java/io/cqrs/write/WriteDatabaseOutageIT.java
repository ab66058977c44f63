package io.cqrs.write;

import static io.cqrs.write.WriteApiIT.json;
import static io.cqrs.write.WriteApiIT.key;
import static io.cqrs.write.WriteApiIT.ok;
import static io.cqrs.write.WriteApiIT.problem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.testsupport.DatabaseOutage;
import io.cqrs.testsupport.LocalHttp;
import java.sql.SQLException;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;

/** The write database becomes unreachable: writes get a fast 503 with Retry-After, nothing partial, then recover. */
@WriteServiceTest
class WriteDatabaseOutageIT {

    @LocalServerPort
    int port;

    @Autowired
    JdbcConnectionDetails database;

    @Autowired
    JdbcClient jdbc;

    @Test
    void refusesWritesWithRetryAfterWhileTheDatabaseIsUnreachableAndRecoversAfterwards() throws SQLException {
        var http = new LocalHttp(port);
        String key = key("outage");
        ok(http.postJson("/write", json(key, "before")));

        // A real outage of this test's own database: no new connections, and the pool's existing ones are cut.
        try (var outage = DatabaseOutage.of(database, databaseName())) {
            var refused = http.postJson("/write", json(key, "during"));

            problem(refused, 503, "urn:cqrs:problem:write-store-unavailable");
            assertThat(refused.headers().firstValue("Retry-After")).hasValue("1");
        }
        var recovered = await().atMost(Duration.ofSeconds(20))
                .until(() -> http.postJson("/write", json(key, "after")), r -> r.statusCode() == 200);

        // The refused write left nothing behind: "after" directly follows "before".
        assertThat(ok(recovered).read("$.version", Long.class)).isEqualTo(2);
        assertThat(jdbc.sql("select count(*) from commands where value = 'during'")
                        .query(Long.class)
                        .single())
                .isZero();
    }

    @Test
    void refusesWritesWithAnIdempotencyKeyWithA503TooAndAppliesTheirRetryOnce() throws SQLException {
        var http = new LocalHttp(port);
        String key = key("outage-idempotent");
        String idempotencyKey = "outage-" + key;

        try (var outage = DatabaseOutage.of(database, databaseName())) {
            var refused = http.postJson("/write", json(key, "v"), "Idempotency-Key", idempotencyKey);

            problem(refused, 503, "urn:cqrs:problem:write-store-unavailable");
            assertThat(refused.headers().firstValue("Retry-After")).hasValue("1");
        }
        var retried = await().atMost(Duration.ofSeconds(20))
                .until(
                        () -> http.postJson("/write", json(key, "v"), "Idempotency-Key", idempotencyKey),
                        r -> r.statusCode() == 200);
        assertThat(ok(retried).read("$.version", Long.class)).isEqualTo(1);
        assertThat(ok(http.postJson("/write", json(key, "v"), "Idempotency-Key", idempotencyKey))
                        .read("$.version", Long.class))
                .isEqualTo(1);
    }

    private String databaseName() {
        return jdbc.sql("select current_database()").query(String.class).single();
    }
}
