package io.cqrs.chaos;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Everything a suite started, stopped in reverse order, once, whatever state it is in. */
final class Resources {
    private final List<AutoCloseable> started = new ArrayList<>();
    private boolean closed;

    synchronized <T extends AutoCloseable> T add(T resource) {
        started.add(resource);
        return resource;
    }

    synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (AutoCloseable resource : started.reversed()) {
            try {
                resource.close();
            } catch (Exception e) {
                System.err.println("[" + Instant.now() + "] clean-up of " + resource + " failed: " + e);
            }
        }
    }
}
