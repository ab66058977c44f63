package io.cqrs.read;

import io.cqrs.testsupport.PropertyDefaults;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every default in application.properties is the one its @ConfigurationProperties record gives. */
class PropertyDefaultsTests {

    @Test
    void givesEachSettingTheSameDefaultInTheFileAsInItsRecord() {
        PropertyDefaults.assertAgree(
                "application.properties",
                Stream.concat(
                                PropertyDefaults.configurationPropertiesIn("io.cqrs.read").stream(),
                                PropertyDefaults.configurationPropertiesIn("io.cqrs.apikeys").stream())
                        .toList(),
                Set.of());
    }
}
