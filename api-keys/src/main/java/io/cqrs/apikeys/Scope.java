package io.cqrs.apikeys;

import java.util.Locale;

/** What a key may do. Scopes do not imply one another: a key that reads and writes says {@code read+write}. */
public enum Scope {
    /** Read the data: {@code GET /read/{key}}, the {@code /stats} of each service. */
    READ,
    /** Change the data: {@code POST}/{@code PUT /write}, {@code POST /write/batch}, {@code DELETE /write/{key}}. */
    WRITE,
    /** Operate the system: the mutating operator endpoints. */
    ADMIN;

    /** The Spring Security authority a key with this scope holds, as rules name it. */
    public String authority() {
        return "SCOPE_" + label();
    }

    /** The scope as configuration and answers spell it: {@code read}, {@code write}, {@code admin}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    static Scope parse(String label) {
        for (Scope scope : values()) {
            if (scope.label().equals(label)) {
                return scope;
            }
        }
        throw new IllegalArgumentException("unknown scope '" + label + "' (read, write or admin)");
    }
}
