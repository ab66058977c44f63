package io.cqrs.apikeys;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The configured keys, and the lookup of a presented secret among them.
 *
 * <p>The lookup hashes the secret once and compares the hash with every configured one, always all of them and each
 * with {@link MessageDigest#isEqual} (constant time for equal lengths), so the answer's timing says nothing about how
 * close a guess was or which key it resembled.
 */
public final class ApiKeys {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final Pattern HASH = Pattern.compile("[0-9a-fA-F]{64}");

    private final List<ApiKey> keys;

    private ApiKeys(List<ApiKey> keys) {
        this.keys = List.copyOf(keys);
    }

    /**
     * Parses {@code CQRS_API_KEYS}: comma-separated {@code <name>:<scope>[+<scope>…]:<hex sha256>}, blanks around
     * entries ignored. Throws with a message naming the faulty entry's position (never its hash) when one is malformed,
     * a name or a hash repeats.
     */
    public static ApiKeys parse(String setting) {
        var keys = new ArrayList<ApiKey>();
        var names = new HashSet<String>();
        var hashes = new HashSet<String>();
        String[] entries = setting.split(",");
        for (int i = 0; i < entries.length; i++) {
            String entry = entries[i].strip();
            if (entry.isEmpty()) {
                continue;
            }
            String[] parts = entry.split(":", -1);
            String where = "CQRS_API_KEYS entry " + (i + 1);
            if (parts.length != 3) {
                throw new IllegalArgumentException(where + " must be <name>:<scope>[+<scope>...]:<hex sha256 of the"
                        + " secret>, with exactly two ':'");
            }
            String name = parts[0];
            if (!NAME.matcher(name).matches()) {
                throw new IllegalArgumentException(where + ": the name must be 1 to 64 of A-Z a-z 0-9 _ . -");
            }
            var scopes = EnumSet.noneOf(Scope.class);
            for (String label : parts[1].split("\\+", -1)) {
                try {
                    scopes.add(Scope.parse(label));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(where + " (" + name + "): " + e.getMessage(), e);
                }
            }
            if (!HASH.matcher(parts[2]).matches()) {
                throw new IllegalArgumentException(where + " (" + name + "): the last part must be the SHA-256 of the"
                        + " secret as 64 hex digits, e.g. from: printf %s \"$SECRET\" | sha256sum");
            }
            String hash = parts[2].toLowerCase(java.util.Locale.ROOT);
            if (!names.add(name)) {
                throw new IllegalArgumentException(where + ": the name " + name + " is used twice");
            }
            if (!hashes.add(hash)) {
                throw new IllegalArgumentException(where + " (" + name + "): the same secret is given twice");
            }
            keys.add(new ApiKey(name, scopes, HexFormat.of().parseHex(hash)));
        }
        return new ApiKeys(keys);
    }

    public List<ApiKey> keys() {
        return keys;
    }

    public boolean isEmpty() {
        return keys.isEmpty();
    }

    /** The key whose secret this is, if any. */
    public Optional<ApiKey> find(String secret) {
        byte[] presented = sha256(secret);
        ApiKey found = null;
        for (ApiKey key : keys) {
            // No early exit: every key is compared, whatever matched.
            if (key.matches(presented)) {
                found = key;
            }
        }
        return Optional.ofNullable(found);
    }

    /** The hex SHA-256 of a secret, as {@code CQRS_API_KEYS} wants it. */
    public static String hash(String secret) {
        return ApiKey.hex(sha256(secret));
    }

    private static byte[] sha256(String secret) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
