package io.cqrs.read;

import io.cqrs.testsupport.TestApiKeys;
import java.util.LinkedHashMap;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.data.redis.autoconfigure.DataRedisConnectionDetails;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The read service started as its jar would start it, from properties only (no test configuration), against the test
 * database and stream: for tests that stop it, run it with another database role or without Redis.
 */
final class StandaloneReadService implements AutoCloseable {

    private final ConfigurableApplicationContext context;

    private StandaloneReadService(ConfigurableApplicationContext context) {
        this.context = context;
    }

    /** @param moreProperties {@code name=value} pairs, added to or replacing the ones derived from the arguments */
    static StandaloneReadService start(
            String jdbcUrl,
            String user,
            String password,
            DataRedisConnectionDetails redis,
            String stream,
            String... moreProperties) {
        var properties = new LinkedHashMap<String, String>();
        properties.put("server.port", "0");
        properties.put("management.server.port", "0");
        properties.put(TestApiKeys.PROPERTY, TestApiKeys.SETTING);
        properties.put("spring.flyway.enabled", "false");
        properties.put("spring.datasource.url", jdbcUrl);
        properties.put("spring.datasource.username", user);
        properties.put("spring.datasource.password", password);
        properties.put("spring.datasource.hikari.maximum-pool-size", "3");
        properties.put("spring.data.redis.url", redisUrl(redis));
        properties.put("cqrs.events.stream", stream);
        for (String property : moreProperties) {
            int equals = property.indexOf('=');
            properties.put(property.substring(0, equals), property.substring(equals + 1));
        }
        // As command-line arguments: they win over application.properties (builder properties would not).
        return new StandaloneReadService(new SpringApplicationBuilder(ReadServiceApplication.class)
                .run(properties.entrySet().stream()
                        .map(property -> "--" + property.getKey() + "=" + property.getValue())
                        .toArray(String[]::new)));
    }

    private static String redisUrl(DataRedisConnectionDetails redis) {
        var server = redis.getStandalone();
        String credentials = redis.getPassword() == null
                ? ""
                : (redis.getUsername() == null ? "" : redis.getUsername()) + ":" + redis.getPassword() + "@";
        return "redis://" + credentials + server.getHost() + ":" + server.getPort() + "/" + server.getDatabase();
    }

    int port() {
        return ((WebServerApplicationContext) context).getWebServer().getPort();
    }

    /** A graceful shutdown, as on SIGTERM. */
    @Override
    public void close() {
        context.close();
    }
}
