package io.cqrs.write;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.RawHttp;
import io.cqrs.testsupport.RealServers;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;

/**
 * Slow and idle clients (slowloris) cannot keep the service from its other clients: with every connection Tomcat
 * accepts held by one of them, each is closed after the configured timeouts (set through their environment names,
 * shortened), and a client queued behind them is then served. A context of its own: few connections, short timeouts.
 */
@SpringBootTest(
        webEnvironment = WebEnvironment.RANDOM_PORT,
        properties = {
            "server.tomcat.max-connections=" + SlowClientsIT.CONNECTIONS,
            "CQRS_HTTP_CONNECTION_TIMEOUT=1s",
            "CQRS_HTTP_KEEP_ALIVE_TIMEOUT=1s"
        })
@Import(RealServers.class)
class SlowClientsIT {

    static final int CONNECTIONS = 8;

    /** Far longer than the timeouts above, far shorter than Tomcat's default of a minute. */
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    private static final Duration POLL = Duration.ofMillis(50);

    @LocalServerPort
    int port;

    private final List<Socket> held = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (Socket socket : held) {
            socket.close();
        }
    }

    @Test
    void closesSlowAndIdleConnectionsSoThatAClientQueuedBehindThemIsServed() {
        var raw = new RawHttp(port);
        for (int i = 0; i < CONNECTIONS; i++) {
            held.add(raw.hold(
                    switch (i % 4) {
                        // connects and says nothing
                        case 0 -> "";
                        // stops in the middle of its headers
                        case 1 -> "POST /write HTTP/1.1\r\nHo";
                        // stops in its body
                        case 2 ->
                            "POST /write HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                    + "Content-Length: 100\r\n\r\n{\"key\"";
                        // one request, then idle on keep-alive
                        default -> "GET /stats HTTP/1.1\r\nHost: x\r\n\r\n";
                    }));
        }
        CompletableFuture<HttpResponse<String>> queued =
                CompletableFuture.supplyAsync(() -> new LocalHttp(port).get("/stats"));

        await().atMost(PATIENCE)
                .pollInterval(POLL)
                .untilAsserted(() -> assertThat(held).allMatch(socket -> RawHttp.closedByPeer(socket, POLL)));

        assertThat(queued.join().statusCode()).isEqualTo(200);
        assertThat(new LocalHttp(port).get("/stats").statusCode()).isEqualTo(200);
    }
}
