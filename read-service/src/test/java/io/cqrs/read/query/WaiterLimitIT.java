package io.cqrs.read.query;

import static io.cqrs.read.ReadHttp.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.read.ProjectorDouble;
import io.cqrs.read.ReadHttp;
import io.cqrs.testsupport.RealServers;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;

/**
 * At most {@code CQRS_READ_MAX_WAITERS} reads wait for a version at once; one more is refused at once with a 503 to
 * retry, instead of holding a connection and a thread for the whole wait. A context of its own, with a cap of two and
 * waits long enough that only a projected version ends them.
 */
@SpringBootTest(
        webEnvironment = WebEnvironment.RANDOM_PORT,
        properties = {"CQRS_READ_MAX_WAITERS=2", "CQRS_READ_WAIT_MAX=60s"})
@Import({RealServers.class, ProjectorDouble.class})
class WaiterLimitIT {

    private static final Duration PATIENCE = Duration.ofSeconds(10);
    private static final String WAIT_FOR_VERSION_1 = "min_version=1&wait_ms=60000";

    @LocalServerPort
    int port;

    @Autowired
    ProjectorDouble projector;

    @Autowired
    MeterRegistry meters;

    ReadHttp http;

    @BeforeEach
    void connect() {
        http = new ReadHttp(port);
    }

    @Test
    void refusesOneWaiterMoreThanTheCapAtOnceAndAdmitsWaitersAgainOnceTheWaitsEnd() {
        double refusedBefore = refused();
        List<String> first = List.of(key(), key());
        List<CompletableFuture<HttpResponse<String>>> waiting = waitFor(first);

        HttpResponse<String> third = http.read(key(), WAIT_FOR_VERSION_1);

        assertThat(waiting).noneMatch(CompletableFuture::isDone);
        assertThat(third.statusCode()).as(third.body()).isEqualTo(503);
        assertThat(third.headers().firstValue("Retry-After")).hasValue("1");
        assertThat(third.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        var problem = json(third);
        assertThat(problem.read("$.type", String.class)).isEqualTo("urn:cqrs:problem:too-many-waiters");
        assertThat(problem.read("$.detail", String.class))
                .isEqualTo("Too many reads are waiting for versions; retry later");
        assertThat(problem.read("$.success", Boolean.class)).isFalse();
        assertThat(refused()).isEqualTo(refusedBefore + 1);

        projectAndExpectServed(first, waiting);

        List<String> next = List.of(key(), key());
        projectAndExpectServed(next, waitFor(next));
        assertThat(refused()).isEqualTo(refusedBefore + 1);
    }

    /** Starts a waiting read per key and returns once the service counts them all as waiting. */
    private List<CompletableFuture<HttpResponse<String>>> waitFor(List<String> keys) {
        var reads = keys.stream()
                .map(key -> CompletableFuture.supplyAsync(() -> http.read(key, WAIT_FOR_VERSION_1)))
                .toList();
        await().atMost(PATIENCE).until(() -> waiting() == keys.size());
        return reads;
    }

    private void projectAndExpectServed(List<String> keys, List<CompletableFuture<HttpResponse<String>>> reads) {
        keys.forEach(key -> projector.write(key, "arrived", 1));
        for (var read : reads) {
            HttpResponse<String> response = read.join();
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        }
        await().atMost(PATIENCE).until(() -> waiting() == 0);
    }

    private double waiting() {
        return meters.get("cqrs.read.waiters").gauge().value();
    }

    private double refused() {
        var counter = meters.find("cqrs.read.requests")
                .tag("result", "too_many_waiters")
                .counter();
        return counter == null ? 0 : counter.count();
    }

    private static String key() {
        return "waiter-" + UUID.randomUUID();
    }
}
