package io.cqrs.testsupport;

import java.net.URI;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;

/** The Redis server named by {@code redis://[user:password@]host:port[/db]}; tests keep apart by stream names. */
final class LocalRedis implements DataRedisConnectionDetails {

    private final Standalone standalone;
    private final @Nullable String username;
    private final @Nullable String password;

    LocalRedis(String url) {
        URI uri = URI.create(url);
        if (!"redis".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException(TestServers.REDIS_URL_VARIABLE + " must look like "
                    + TestServers.DEFAULT_REDIS_URL + ", was " + url);
        }
        String path = uri.getPath() == null ? "" : uri.getPath().replace("/", "");
        this.standalone = Standalone.of(
                uri.getHost(), uri.getPort() < 0 ? 6379 : uri.getPort(), path.isEmpty() ? 0 : Integer.parseInt(path));
        String userInfo = uri.getUserInfo();
        if (userInfo == null) {
            this.username = null;
            this.password = null;
        } else {
            int colon = userInfo.indexOf(':');
            this.username = colon <= 0 ? null : userInfo.substring(0, colon);
            this.password = colon < 0 ? userInfo : userInfo.substring(colon + 1);
        }
    }

    @Override
    public Standalone getStandalone() {
        return standalone;
    }

    @Override
    public @Nullable String getUsername() {
        return username;
    }

    @Override
    public @Nullable String getPassword() {
        return password;
    }
}
