package io.cqrs.testsupport;

import org.jspecify.annotations.Nullable;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The Redis that tests running services as processes should hand them as {@code REDIS_URL}: the one named by
 * {@code CQRS_TEST_REDIS_URL} or the local one, or with a Docker engine one pinned container per test JVM. Tests keep
 * apart by stream names, as with {@link RealServers}.
 */
public final class TestRedis {

    private static @Nullable GenericContainer<?> container;

    private TestRedis() {}

    /** A {@code redis://host:port} URL reachable from this host. */
    public static synchronized String url() {
        if (!TestServers.useContainers()) {
            return TestServers.redisUrl();
        }
        GenericContainer<?> started = container;
        if (started == null) {
            started = new GenericContainer<>(DockerImageName.parse(RealServers.REDIS_IMAGE)).withExposedPorts(6379);
            started.start();
            container = started;
        }
        return "redis://" + started.getHost() + ":" + started.getMappedPort(6379);
    }
}
