package io.cqrs.read;

import io.cqrs.testsupport.PropertyDefaults;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Every default in application.properties is the one its @ConfigurationProperties record gives. */
class PropertyDefaultsTests {

    @Test
    void givesEachSettingTheSameDefaultInTheFileAsInItsRecord() {
        PropertyDefaults.assertAgree(
                "application.properties",
                PropertyDefaults.configurationPropertiesIn("io.cqrs.read", "io.cqrs.apikeys", "io.cqrs.tracing"),
                Set.of());
    }
}
