package io.cqrs.write;

import io.cqrs.testsupport.RealServers;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;

/**
 * The write service on a random port against real servers, with small limits so that limit tests stay light. Every
 * test class with this annotation shares one application context.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "cqrs.write.max-value-bytes=1024",
            "cqrs.write.max-body-size=16KB",
            "cqrs.write.max-batch-commands=50"
        })
@Import(RealServers.class)
public @interface WriteServiceTest {}
