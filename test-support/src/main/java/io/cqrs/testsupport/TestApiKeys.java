package io.cqrs.testsupport;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The API keys every test gives the services it starts ({@code CQRS_API_KEYS}): one per scope and one with all three,
 * which {@link LocalHttp} sends unless a test chooses another key or none.
 */
public final class TestApiKeys {

    public static final String READER = "test-reader-secret";
    public static final String WRITER = "test-writer-secret";
    public static final String ADMIN = "test-admin-secret";
    public static final String CLIENT = "test-client-secret";

    /** The keys as {@code CQRS_API_KEYS} spells them: names, scopes and the SHA-256 of each secret. */
    public static final String SETTING = String.join(
            ",",
            "test-reader:read:" + sha256(READER),
            "test-writer:write:" + sha256(WRITER),
            "test-admin:admin:" + sha256(ADMIN),
            "test-client:read+write+admin:" + sha256(CLIENT));

    /** The property the services read {@code CQRS_API_KEYS} into. */
    public static final String PROPERTY = "cqrs.security.api-keys";

    private TestApiKeys() {}

    public static String sha256(String secret) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
