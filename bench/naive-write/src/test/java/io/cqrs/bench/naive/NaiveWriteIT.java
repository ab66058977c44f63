package io.cqrs.bench.naive;

import static org.assertj.core.api.Assertions.assertThat;

import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.RealServers;
import io.cqrs.testsupport.TestStream;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.data.redis.connection.stream.StreamOffset;
import org.springframework.data.redis.core.StringRedisTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;

/** The naive app stores the command and appends its event, with the ids it answers (its stream is the test's own). */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "naive.stream=${" + TestStream.PROPERTY + "}")
@Import(RealServers.class)
class NaiveWriteIT {

    @LocalServerPort
    int port;

    @Autowired
    JdbcClient jdbc;

    @Autowired
    StringRedisTemplate redis;

    @Autowired
    TestStream stream;

    @Test
    void storesTheCommandThenAppendsItsEvent() {
        var response = new LocalHttp(port).anonymous().postJson("/write", "{\"key\":\"k1\",\"value\":\"v1\"}");

        assertThat(response.statusCode()).isEqualTo(200);
        long commandId = jdbc.sql("select id from commands where key = 'k1'")
                .query(Long.class)
                .single();
        var entries = redis.opsForStream().read(StreamOffset.fromStart(stream.name()));
        assertThat(entries).singleElement().satisfies(entry -> {
            assertThat(entry.getValue())
                    .containsExactlyInAnyOrderEntriesOf(
                            Map.of("key", "k1", "value", "v1", "command_id", Long.toString(commandId)));
            assertThat(response.body())
                    .isEqualTo("{\"success\":true,\"key\":\"k1\",\"command_id\":" + commandId + ",\"event_id\":\""
                            + entry.getId().getValue() + "\"}");
        });
    }

    @Test
    void answersItsTrivialEndpointOnTheSamePort() {
        var response = new LocalHttp(port).anonymous().get("/actuator/info");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("{}");
    }
}
