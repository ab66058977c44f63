package io.cqrs.testsupport;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;

/**
 * A database of its own on a running PostgreSQL server: created for one test context, dropped when it closes.
 *
 * <p>Names carry their creation time ({@code cqrs_test_<epoch seconds>_<random>}), so that databases left behind
 * by a killed test run are dropped by a later run once they are clearly abandoned.
 */
final class LocalPostgresDatabase implements JdbcConnectionDetails, DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(LocalPostgresDatabase.class);

    private static final Pattern URL = Pattern.compile("(jdbc:postgresql://[^/?]*)(/[^?]*)?(\\?.*)?");
    private static final Pattern NAME = Pattern.compile("cqrs_test_(\\d+)_[0-9a-f]+");
    private static final Duration ABANDONED_AFTER = Duration.ofHours(6);

    private final String adminUrl;
    private final String name;
    private final String url;

    private LocalPostgresDatabase(String adminUrl, String name) {
        this.adminUrl = adminUrl;
        this.name = name;
        Matcher parts = parse(adminUrl);
        this.url = parts.group(1) + "/" + name + (parts.group(3) == null ? "" : parts.group(3));
    }

    static LocalPostgresDatabase create(String adminUrl) {
        parse(adminUrl);
        String name = "cqrs_test_" + Instant.now().getEpochSecond() + "_"
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        try (Connection connection = DriverManager.getConnection(adminUrl);
                Statement statement = connection.createStatement()) {
            dropAbandoned(statement);
            statement.execute("create database " + name);
        } catch (SQLException e) {
            throw new IllegalStateException(
                    "Cannot create a test database through " + adminUrl + " (" + e.getMessage() + "). Start PostgreSQL,"
                            + " or point " + TestServers.POSTGRES_URL_VARIABLE + " at a server where this user may"
                            + " create databases.",
                    e);
        }
        log.info("Created test database {}", name);
        return new LocalPostgresDatabase(adminUrl, name);
    }

    String name() {
        return name;
    }

    @Override
    public String getJdbcUrl() {
        return url;
    }

    @Override
    public String getUsername() {
        String user = queryParameter("user");
        return user == null ? "postgres" : user;
    }

    @Override
    public @Nullable String getPassword() {
        return queryParameter("password");
    }

    @Override
    public void destroy() throws SQLException {
        try (Connection connection = DriverManager.getConnection(adminUrl);
                Statement statement = connection.createStatement()) {
            statement.execute("drop database if exists " + name + " with (force)");
        }
        log.info("Dropped test database {}", name);
    }

    private @Nullable String queryParameter(String parameter) {
        String query = parse(adminUrl).group(3);
        if (query == null) {
            return null;
        }
        for (String pair : query.substring(1).split("&")) {
            if (pair.startsWith(parameter + "=")) {
                return pair.substring(parameter.length() + 1);
            }
        }
        return null;
    }

    private static void dropAbandoned(Statement statement) throws SQLException {
        List<String> abandoned = new ArrayList<>();
        long cutoff = Instant.now().minus(ABANDONED_AFTER).getEpochSecond();
        try (var names = statement.executeQuery("select datname from pg_database where datname like 'cqrs_test_%'")) {
            while (names.next()) {
                Matcher matcher = NAME.matcher(names.getString(1));
                if (matcher.matches() && Long.parseLong(matcher.group(1)) < cutoff) {
                    abandoned.add(matcher.group());
                }
            }
        }
        for (String name : abandoned) {
            statement.execute("drop database if exists " + name + " with (force)");
            log.info("Dropped abandoned test database {}", name);
        }
    }

    private static Matcher parse(String adminUrl) {
        Matcher matcher = URL.matcher(adminUrl);
        if (!matcher.matches()) {
            throw new IllegalArgumentException(TestServers.POSTGRES_URL_VARIABLE + " must be a JDBC URL such as "
                    + TestServers.DEFAULT_POSTGRES_URL + ", was " + adminUrl);
        }
        return matcher;
    }
}
