package io.cqrs.read.primary;

import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.NotNull;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Where the read database's primary is, when {@code READ_DB_URL} names a streaming standby.
 *
 * @param url JDBC URL of the primary ({@code READ_DB_PRIMARY_URL}), reached with the read database's login: the commit
 *     notifications come from it (a standby cannot {@code LISTEN}) and the read counts go to it (a standby cannot be
 *     written); empty: {@code READ_DB_URL} is the primary
 */
@Validated
@ConfigurationProperties("cqrs.read.primary")
record PrimaryProperties(@DefaultValue("") @NotNull String url) {

    @AssertTrue(message = "url (READ_DB_PRIMARY_URL) must be a jdbc:postgresql: URL when set")
    boolean isUrlUsable() {
        return url == null || url.isBlank() || url.startsWith("jdbc:postgresql:");
    }
}
