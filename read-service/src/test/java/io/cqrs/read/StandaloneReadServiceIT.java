package io.cqrs.read;

import static io.cqrs.read.ReadHttp.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.cqrs.testsupport.TestStream;
import java.net.http.HttpResponse;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Starts and stops whole read services beside the shared test context, on its database: counts must survive a
 * graceful restart, and the service must work with a role that holds only what the projector grants it after
 * migrating ({@code db/migrations/read/afterMigrate.sql}).
 */
@ReadServiceTest
class StandaloneReadServiceIT {

    @Autowired
    ProjectorDouble projector;

    @Autowired
    JdbcConnectionDetails database;

    @Autowired
    TestStream stream;

    @Autowired
    DataRedisConnectionDetails redis;

    private JdbcTemplate jdbc() {
        return projector.jdbc();
    }

    private long storedReadCount(String key) {
        return jdbc().queryForObject("select read_count from records where key = ?", Long.class, key);
    }

    private long totalReads() {
        return jdbc().queryForObject("select total_reads from read_totals", Long.class);
    }

    private static long readCount(ReadHttp http, String key) {
        HttpResponse<String> response = http.read(key);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return json(response).read("$.read_count", Long.class);
    }

    @Test
    void keepsExactCountsAcrossAGracefulRestart() {
        String key = "restart-" + System.nanoTime();
        projector.write(key, "v", 1);
        // Only the shutdown flushes, so what the database holds afterwards is the shutdown's doing.
        String onlyShutdownFlushes = "cqrs.read.count.flush-interval=1h";
        String password = database.getPassword() == null ? "" : database.getPassword();

        try (var first = StandaloneReadService.start(
                database.getJdbcUrl(), database.getUsername(), password, redis, stream.name(), onlyShutdownFlushes)) {
            var http = new ReadHttp(first.port());
            for (long expected = 1; expected <= 5; expected++) {
                assertThat(readCount(http, key)).isEqualTo(expected);
            }
            assertThat(storedReadCount(key)).isZero();
        }
        assertThat(storedReadCount(key)).isEqualTo(5);

        try (var second = StandaloneReadService.start(
                database.getJdbcUrl(), database.getUsername(), password, redis, stream.name(), onlyShutdownFlushes)) {
            assertThat(readCount(new ReadHttp(second.port()), key)).isEqualTo(6);
        }
        assertThat(storedReadCount(key)).isEqualTo(6);
    }

    @Test
    void worksWithTheLeastPrivilegedRole() throws Exception {
        String role = "cqrs_read_"
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        String password = "pw-" + role;
        jdbc().execute("create role " + role + " login password '" + password + "'");
        try {
            applyGrants(role);
            String key = "least-" + System.nanoTime();
            projector.write(key, "v1", 1);
            long totalBefore = totalReads();
            String url = database.getJdbcUrl().replaceFirst("\\?.*$", "");

            try (var service = StandaloneReadService.start(
                    url, role, password, redis, stream.name(), "cqrs.read.count.flush-interval=100ms")) {
                var http = new ReadHttp(service.port());
                assertThat(readCount(http, key)).isEqualTo(1);
                assertThat(readCount(http, key)).isEqualTo(2);
                await().atMost(Duration.ofSeconds(10)).until(() -> storedReadCount(key) == 2);

                CompletableFuture<HttpResponse<String>> waiting =
                        CompletableFuture.supplyAsync(() -> http.read(key, "min_version=2&wait_ms=10000"));
                projector.write(key, "v2", 2);
                assertThat(json(waiting.join()).read("$.value", String.class)).isEqualTo("v2");

                assertThat(http.get("/stats").statusCode()).isEqualTo(200);
                projector.catchUp();
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> json(http.get("/health"))
                                .read("$.status", String.class)
                                .equals("UP"));
                assertThat(readCount(http, key)).isEqualTo(4);
            }
            assertThat(storedReadCount(key)).isEqualTo(4);
            assertThat(totalReads()).isEqualTo(totalBefore + 4);

            try (var asRole = DriverManager.getConnection(url, role, password);
                    var sql = asRole.createStatement()) {
                assertThatThrownBy(() -> sql.executeUpdate("update records set value = 'x' where key = '" + key + "'"))
                        .isInstanceOf(SQLException.class)
                        .hasMessageContaining("permission denied");
                assertThatThrownBy(() -> sql.executeUpdate("update projection_state set records = 0"))
                        .isInstanceOf(SQLException.class)
                        .hasMessageContaining("permission denied");
                assertThatThrownBy(() -> sql.executeUpdate("insert into records (key, version, write_count,"
                                + " created_at, updated_at, last_command_id) values ('x', 1, 1, now(), now(), 1)"))
                        .isInstanceOf(SQLException.class)
                        .hasMessageContaining("permission denied");
                assertThatThrownBy(() -> sql.executeUpdate("delete from records"))
                        .isInstanceOf(SQLException.class)
                        .hasMessageContaining("permission denied");
            }
        } finally {
            jdbc().execute("drop owned by " + role);
            jdbc().execute("drop role " + role);
        }
    }

    @Test
    void startsAndServesReadsWhileRedisIsDown() {
        String key = "no-redis-" + System.nanoTime();
        projector.write(key, "v", 1);
        String password = database.getPassword() == null ? "" : database.getPassword();

        try (var service = StandaloneReadService.start(
                database.getJdbcUrl(),
                database.getUsername(),
                password,
                redis,
                stream.name(),
                "spring.data.redis.url=redis://127.0.0.1:1")) {
            var http = new ReadHttp(service.port());

            assertThat(readCount(http, key)).isEqualTo(1);
            HttpResponse<String> health = http.get("/health");
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(json(health).read("$.status", String.class)).isEqualTo("DEGRADED");
            assertThat(json(health).read("$.redis", String.class)).isEqualTo("DOWN");
            HttpResponse<String> stats = http.get("/stats");
            assertThat(stats.statusCode()).isEqualTo(200);
            assertThat(json(stats).read("$.stream.length", Object.class)).isNull();
            assertThat(json(stats).read("$.events_published", Object.class)).isNull();
        }
    }

    /**
     * Migrates again as the projector does, naming the role as the read service's login: nothing is pending, so only
     * the afterMigrate callback runs, granting what the read service may do.
     */
    private void applyGrants(String role) {
        Flyway.configure()
                .dataSource(database.getJdbcUrl(), database.getUsername(), database.getPassword())
                .locations("classpath:db/migration")
                .placeholders(Map.of("reader", role, "reconciler", ""))
                .load()
                .migrate();
    }
}
