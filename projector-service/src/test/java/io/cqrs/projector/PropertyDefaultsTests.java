package io.cqrs.projector;

import io.cqrs.testsupport.PropertyDefaults;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Every default in application.properties is the one its @ConfigurationProperties record gives. */
class PropertyDefaultsTests {

    @Test
    void givesEachSettingTheSameDefaultInTheFileAsInItsRecord() {
        PropertyDefaults.assertAgree(
                "application.properties",
                PropertyDefaults.configurationPropertiesIn(
                        "io.cqrs.projector", "io.cqrs.apikeys", "io.cqrs.db", "io.cqrs.tracing"),
                Set.of());
    }
}
