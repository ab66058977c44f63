package io.cqrs.apikeys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cqrs.testsupport.TestApiKeys;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ApiKeysTests {

    private static final String HASH = TestApiKeys.sha256("s3cret");

    @Test
    void findsTheKeyWhoseSecretHashesToTheConfiguredHash() {
        var keys = ApiKeys.parse(" ops:read+write+admin:" + HASH + " , reader:read:" + TestApiKeys.sha256("other"));

        assertThat(keys.keys()).extracting(ApiKey::name).containsExactly("ops", "reader");
        assertThat(keys.find("s3cret")).hasValueSatisfying(key -> {
            assertThat(key.name()).isEqualTo("ops");
            assertThat(key.scopes()).isEqualTo(Set.of(Scope.READ, Scope.WRITE, Scope.ADMIN));
        });
        assertThat(keys.find("other").map(ApiKey::name)).contains("reader");
        assertThat(keys.find("s3cret ")).isEmpty();
        assertThat(keys.find("")).isEmpty();
    }

    @Test
    void acceptsUpperCaseHexAndAnEmptySetting() {
        assertThat(ApiKeys.parse("a:read:" + HASH.toUpperCase()).find("s3cret")).isPresent();
        assertThat(ApiKeys.parse("").isEmpty()).isTrue();
        assertThat(ApiKeys.parse(" , ").isEmpty()).isTrue();
    }

    @Test
    void theHashIsTheHexSha256OfTheSecretAsSha256sumPrintsIt() {
        // printf %s s3cret | sha256sum
        assertThat(ApiKeys.hash("s3cret"))
                .isEqualTo("1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "noscope",
                "a:read",
                "a::HASH",
                "a:read:abc",
                "a:reading:HASH",
                "a:read+:HASH",
                "a b:read:HASH",
                ":read:HASH",
                "a:read:HASH:extra",
                "a:read:HASH,a:write:OTHER",
                "a:read:HASH,b:write:HASH"
            })
    void refusesAMalformedSettingNamingTheEntryButNeverTheHash(String setting) {
        String real = setting.replace("OTHER", TestApiKeys.sha256("x")).replace("HASH", HASH);

        assertThatThrownBy(() -> ApiKeys.parse(real))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("CQRS_API_KEYS entry")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain(HASH));
    }

    @Test
    void aKeyPrintsItsNameAndScopesOnly() {
        var key = ApiKeys.parse("ops:admin:" + HASH).keys().getFirst();

        assertThat(key.toString()).contains("ops").contains("ADMIN").doesNotContain(HASH);
    }
}
