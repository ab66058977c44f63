package io.cqrs.apikeys;

import java.util.Set;

/**
 * The actuator endpoints of a service that are for operators (by endpoint id): every request to them, reading or
 * changing, needs a key with the {@link Scope#ADMIN admin} scope, although the rest of the management port is open.
 * A service declares them as a bean; reading needs the scope too, because what they show (dead-lettered entries, say)
 * holds the data.
 */
public record OperatorEndpoints(Set<String> ids) {

    public OperatorEndpoints {
        ids = Set.copyOf(ids);
    }

    public static OperatorEndpoints of(String... ids) {
        return new OperatorEndpoints(Set.of(ids));
    }
}
