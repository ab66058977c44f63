package io.cqrs.apikeys;

import java.util.HexFormat;
import java.util.Set;

/** One configured key: its name (logged, tagged), its scopes and the SHA-256 of its secret. */
public record ApiKey(String name, Set<Scope> scopes, byte[] secretHash) {

    public ApiKey {
        scopes = Set.copyOf(scopes);
        secretHash = secretHash.clone();
    }

    @Override
    public byte[] secretHash() {
        return secretHash.clone();
    }

    @Override
    public String toString() {
        // Never the hash: it is not the secret, but it need not be in a log either.
        return "ApiKey[" + name + ", " + scopes + "]";
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ApiKey key && key.name.equals(name);
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    /** Whether this is the hash of the presented secret, compared in constant time. */
    boolean matches(byte[] presentedHash) {
        return java.security.MessageDigest.isEqual(presentedHash, secretHash);
    }

    static String hex(byte[] hash) {
        return HexFormat.of().formatHex(hash);
    }
}
