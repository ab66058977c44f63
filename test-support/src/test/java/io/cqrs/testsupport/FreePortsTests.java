package io.cqrs.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

class FreePortsTests {

    @Test
    void givesAPortThatCanBeBoundOnLoopback() throws IOException {
        int port = FreePorts.freePort();

        assertThat(port).isBetween(20_000, 65_535);
        try (var socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress("127.0.0.1", port));
            assertThat(socket.getLocalPort()).isEqualTo(port);
        }
    }
}
