package io.cqrs.read;

import io.cqrs.testsupport.TestStream;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The read service started as its jar would start it, from properties only (no test configuration), against the test
 * database and stream: for tests that stop it or run it with another database role.
 */
final class StandaloneReadService implements AutoCloseable {

    private final ConfigurableApplicationContext context;

    private StandaloneReadService(ConfigurableApplicationContext context) {
        this.context = context;
    }

    static StandaloneReadService start(
            String jdbcUrl, String user, String password, TestStream stream, String... moreProperties) {
        var redis = stream.redisUri();
        List<String> properties = new ArrayList<>(List.of(
                "server.port=0",
                "spring.flyway.enabled=false",
                "spring.datasource.url=" + jdbcUrl,
                "spring.datasource.username=" + user,
                "spring.datasource.password=" + password,
                "spring.datasource.hikari.maximum-pool-size=3",
                "spring.data.redis.url=redis://" + redis.getHost() + ":" + redis.getPort() + "/" + redis.getDatabase(),
                "cqrs.events.stream=" + stream.name()));
        properties.addAll(List.of(moreProperties));
        // As command-line arguments: they win over application.properties (builder properties would not).
        return new StandaloneReadService(new SpringApplicationBuilder(ReadServiceApplication.class)
                .run(properties.stream().map(property -> "--" + property).toArray(String[]::new)));
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
