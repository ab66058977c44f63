package io.cqrs.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatNoException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cqrs.testsupport.PropertyDefaults.Mismatch;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

class PropertyDefaultsTests {

    private static final String AGREEING = "property-defaults/agreeing.properties";
    private static final String DISAGREEING = "property-defaults/disagreeing.properties";

    /** Package-private, with a required setting and a nested record, as the services' records are. */
    @ConfigurationProperties("demo")
    record DemoProperties(
            String name,
            @DefaultValue("1s") Duration interval,
            @DefaultValue("5") int size,
            @DefaultValue("2s") Duration timeout,
            @DefaultValue Nested nested) {

        DemoProperties {
            if (name == null) {
                throw new IllegalArgumentException("demo.name must be set");
            }
        }

        record Nested(
                @DefaultValue("true") boolean enabled,
                @DefaultValue("10MB") DataSize limit) {}
    }

    @Test
    void findsTheConfigurationPropertiesRecordsOfAPackage() {
        assertThat(PropertyDefaults.configurationPropertiesIn("io.cqrs.testsupport"))
                .containsExactly(DemoProperties.class);
    }

    @Test
    void findsNothingWhenTheFileSpellsTheRecordsDefaults() {
        assertThat(PropertyDefaults.mismatches(AGREEING, List.of(DemoProperties.class)))
                .isEmpty();
    }

    @Test
    void readsTheDefaultsInTheFileWhateverTheEnvironmentSays() {
        System.setProperty("DEMO_INTERVAL", "9s");
        try {
            assertThat(PropertyDefaults.mismatches(AGREEING, List.of(DemoProperties.class)))
                    .isEmpty();
        } finally {
            System.clearProperty("DEMO_INTERVAL");
        }
    }

    @Test
    void namesEachPropertyWhoseDefaultsDifferOrThatNoRecordBinds() {
        List<Mismatch> mismatches = PropertyDefaults.mismatches(DISAGREEING, List.of(DemoProperties.class));

        assertThat(mismatches)
                .extracting(Mismatch::property)
                .containsExactly("demo.colour", "demo.interval", "demo.nested.limit");
        assertThat(mismatches.get(0).problem())
                .contains("${DEMO_COLOUR:blue}")
                .contains("bound by none of [DemoProperties]");
        assertThat(mismatches.get(1).problem())
                .contains("gives PT2S (${DEMO_INTERVAL:2s})")
                .contains("DemoProperties.interval @DefaultValue(\"1s\") gives PT1S");
        assertThat(mismatches.get(2).problem()).contains("20MB").contains("10MB");
    }

    @Test
    void failsNamingEveryDifferenceThatIsNotAKnownOne() {
        assertThatThrownBy(() ->
                        PropertyDefaults.assertAgree(DISAGREEING, List.of(DemoProperties.class), Set.of("demo.colour")))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("demo.interval: ")
                .hasMessageContaining("demo.nested.limit: ")
                .hasMessageNotContaining("demo.colour");
    }

    @Test
    void acceptsKnownDifferencesButNotOnesThatAreGone() {
        var known = Set.of("demo.colour", "demo.interval", "demo.nested.limit");
        assertThatNoException()
                .isThrownBy(() -> PropertyDefaults.assertAgree(DISAGREEING, List.of(DemoProperties.class), known));

        assertThatThrownBy(() -> PropertyDefaults.assertAgree(AGREEING, List.of(DemoProperties.class), known))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("demo.interval: listed as a known difference, but there is none any more");
    }
}
