package io.cqrs.testsupport;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/** Ports for servers that tests start themselves (services, Redis, PostgreSQL clusters) on the loopback interface. */
public final class FreePorts {

    private static final int LOWEST = 20_000;

    private FreePorts() {}

    /**
     * A free loopback port below the kernel's ephemeral range: servers here are restarted on the same port, and a port
     * from the ephemeral range could meanwhile become the local end of some outgoing connection.
     */
    public static int freePort() {
        int below = Math.max(LOWEST + 1, ephemeralRangeStart());
        var random = ThreadLocalRandom.current();
        for (int attempt = 0; attempt < 100; attempt++) {
            int port = random.nextInt(LOWEST, below);
            try (var socket = new ServerSocket()) {
                socket.setReuseAddress(false);
                socket.bind(new InetSocketAddress("127.0.0.1", port));
                return port;
            } catch (IOException e) {
                // taken: try another
            }
        }
        throw new IllegalStateException("no free port between " + LOWEST + " and " + below);
    }

    private static int ephemeralRangeStart() {
        try {
            // readAllLines, not readString: procfs reports a size of 0 and readString then stops after one byte.
            String range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))
                    .getFirst();
            return Integer.parseInt(range.trim().split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return 32768; // Linux's default
        }
    }
}
