package io.cqrs.read;

import io.cqrs.testsupport.RealServers;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.context.annotation.Import;

/**
 * The one application context the read service's integration tests share (so Spring's context cache starts it once):
 * the whole service on a random port, over a fresh PostgreSQL database and Redis stream of its own, with a short
 * flush interval, a 1 s lag threshold and fast listener reconnects so that tests wait briefly.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@SpringBootTest(
        webEnvironment = WebEnvironment.RANDOM_PORT,
        properties = {
            "cqrs.read.count.flush-interval=200ms",
            "cqrs.health.lag-threshold=1s",
            "cqrs.read.listener.reconnect-min=50ms",
            "cqrs.read.listener.reconnect-max=500ms",
            "spring.datasource.hikari.maximum-pool-size=8"
        })
@Import({RealServers.class, ProjectorDouble.class})
public @interface ReadServiceTest {}
