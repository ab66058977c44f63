package io.cqrs.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.cqrs.testsupport.FreePorts;
import io.cqrs.testsupport.LocalHttp;
import io.cqrs.testsupport.TestApiKeys;
import io.cqrs.testsupport.TestDatabase;
import io.cqrs.testsupport.TestRedis;
import io.lettuce.core.RedisClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

/**
 * {@code ./stack.sh up} as a user runs it, on databases of its own: each service logs in with the role the script made
 * for it, and each role may do what its service needs and nothing more. The write database does not exist yet (the
 * script creates it); the read database is one an earlier run left behind, migrated by the superuser, which owns its
 * tables (the script hands them over).
 */
class StackScriptIT {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Duration SCRIPT_TIMEOUT = Duration.ofMinutes(5);
    /** Variables of the developer's environment that would change what the script does. */
    private static final Pattern OURS = Pattern.compile(
            "(CQRS_|PROJECTOR_|EVENT_|DB_POOL_|WRITE_|READ_|SPRING_|SERVER_|MANAGEMENT_|STACK_|REDIS_).*");

    private final String prefix =
            "cqrs_t" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()) + "_";
    private final String writeRole = prefix + "write";
    private final String projectorRole = prefix + "projector";
    private final String readerRole = prefix + "reader";
    private final String reconcilerRole = prefix + "reconciler";
    private final String rebuilderRole = prefix + "rebuilder";
    private int runs;
    private final Path runDir = Path.of(System.getProperty("cqrs.system-tests.logs", "target/system-tests"))
            .toAbsolutePath()
            .resolve("stack-sh-" + prefix);

    @Test
    void givesEachServiceALoginOfItsOwnWithOnlyWhatItNeeds() throws Exception {
        TestDatabase writeDb = TestDatabase.create();
        TestDatabase readDb = TestDatabase.create();
        Map<String, String> environment = environment(writeDb, readDb);
        try {
            try (Connection admin = adminOnServer(writeDb)) {
                admin.createStatement().execute("drop database " + writeDb.name());
            }
            leftByAnEarlierRun(readDb);
            markJarsAsBuilt();
            aotCachesLeftBehind();

            String up = stackSh(environment, "up");
            assertThat(up).contains("created database " + writeDb.name(), "login role " + writeRole + " created");
            assertAotCachesThatDoNotFitAreNotUsed(up);

            assertPasswordsAreKeptPrivately();
            assertRolesAreNotPrivileged(readDb);
            assertEachDatabaseIsOwnedByItsService(writeDb, writeRole);
            assertEachDatabaseIsOwnedByItsService(readDb, projectorRole);
            assertEachRoleMayDoOnlyWhatItsServiceNeeds(writeDb, readDb);
            assertServicesConnectAsTheirRoles(
                    writeDb, readDb, Integer.parseInt(environment.get("WRITE_MANAGEMENT_PORT")));
            assertWritesAreReadAndCounted(writeDb, readDb, environment);

            String again = stackSh(environment, "up");
            assertThat(again).contains("already runs", "login role " + writeRole + " exists");
            assertEachDatabaseIsOwnedByItsService(readDb, projectorRole);
        } finally {
            try {
                stackSh(environment, "down");
            } finally {
                writeDb.close();
                readDb.close();
                dropRoles(readDb);
                deleteStreams(environment.get("EVENT_STREAM_NAME"));
            }
        }
    }

    /** The read schema as a run of the stack before service logins left it: everything owned by the superuser. */
    private static void leftByAnEarlierRun(TestDatabase readDb) throws SQLException {
        Flyway.configure()
                .dataSource(url(readDb), readDb.username(), readDb.password())
                .locations("filesystem:" + ROOT.resolve("db/migrations/read"))
                .placeholders(Map.of("reader", "", "reconciler", ""))
                .load()
                .migrate();
        try (Connection admin = DriverManager.getConnection(url(readDb), readDb.username(), readDb.password())) {
            admin.createStatement().execute("create sequence left_behind_seq");
            admin.createStatement().execute("create function left_behind() returns int language sql as 'select 1'");
        }
    }

    /**
     * The reactor built the jars from these sources, but Maven leaves a jar it finds up to date with its old time, which
     * stack.sh would take for stale and build again, under this very build.
     */
    private static void markJarsAsBuilt() throws IOException {
        for (String service : List.of("write-service", "projector-service", "read-service")) {
            String jar = System.getProperty("cqrs.jar." + service);
            assertThat(jar)
                    .as("cqrs.jar." + service + " (set in system-tests/pom.xml)")
                    .isNotBlank();
            Files.setLastModifiedTime(Path.of(jar), FileTime.from(Instant.now()));
        }
    }

    /**
     * AOT caches that cannot be used: write-service's is damaged but stamped as made from this very jar on this JDK
     * (so the script hands it to the JVM, which must skip it); read-service's was made from an earlier build.
     */
    private void aotCachesLeftBehind() throws IOException, InterruptedException {
        if (Runtime.version().feature() < 25) {
            return;
        }
        Path write = runDir.resolve("aot/write-service");
        Path jar = Path.of(System.getProperty("cqrs.jar.write-service"));
        Process extract = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Djarmode=tools",
                        "-jar",
                        jar.toString(),
                        "extract",
                        "--destination",
                        write.toString())
                .inheritIO()
                .start();
        assertThat(extract.waitFor(60, TimeUnit.SECONDS) && extract.exitValue() == 0)
                .as("jar extracted")
                .isTrue();
        Files.write(write.resolve("write-service.aot"), new byte[4096]);
        Files.writeString(write.resolve("jar.sha256"), sha256(jar) + "\n");
        Files.writeString(
                write.resolve("jdk"),
                String.join(
                                "\n",
                                System.getProperty("java.home"),
                                System.getProperty("java.vm.vendor"),
                                System.getProperty("java.vm.version"))
                        + "\n");
        Path read = Files.createDirectories(runDir.resolve("aot/read-service"));
        Files.write(read.resolve("read-service.aot"), new byte[4096]);
        Files.writeString(read.resolve("jar.sha256"), "0".repeat(64) + "\n");
        Files.copy(write.resolve("jdk"), read.resolve("jdk"));
    }

    private void assertAotCachesThatDoNotFitAreNotUsed(String up) throws IOException {
        if (Runtime.version().feature() < 25) {
            return;
        }
        assertThat(up)
                .contains("with its AOT cache " + runDir.resolve("aot/write-service/write-service.aot"))
                .contains("AOT cache not used: it was made for an earlier build of read-service/target/")
                .contains("no AOT cache (" + runDir.resolve("aot/projector-service/projector-service.aot"));
        assertThat(Files.readString(runDir.resolve("write-service.log")))
                .as("the JVM says it skips the damaged cache")
                .contains("An error has occurred while processing the AOT cache");
    }

    private static String sha256(Path file) throws IOException {
        try (var in = Files.newInputStream(file)) {
            var digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private Map<String, String> environment(TestDatabase writeDb, TestDatabase readDb) {
        var environment = new HashMap<>(System.getenv());
        environment.keySet().removeIf(name -> OURS.matcher(name).matches());
        environment.put("STACK_ENV_FILE", "/dev/null");
        environment.put("STACK_RUN_DIR", runDir.toString());
        environment.put("STACK_DB_ROLE_PREFIX", prefix);
        environment.put("STACK_DB_ADMIN_USER", readDb.username());
        environment.put("STACK_DB_ADMIN_PASSWORD", readDb.password());
        environment.put("WRITE_DB_URL", url(writeDb));
        environment.put("READ_DB_URL", url(readDb));
        environment.put("REDIS_URL", TestRedis.url());
        environment.put("EVENT_STREAM_NAME", "cqrs:test:" + prefix + ":events");
        environment.put("CQRS_API_KEYS", TestApiKeys.SETTING);
        environment.put("CQRS_RECONCILE_PASS_INTERVAL", "1s");
        environment.put("DB_POOL_MIN_SIZE", "1");
        environment.put("DB_POOL_MAX_SIZE", "3");
        for (String port : List.of(
                "WRITE_PORT",
                "PROJECTOR_PORT",
                "READ_PORT",
                "WRITE_MANAGEMENT_PORT",
                "PROJECTOR_MANAGEMENT_PORT",
                "READ_MANAGEMENT_PORT")) {
            environment.put(port, String.valueOf(FreePorts.freePort()));
        }
        return environment;
    }

    private void assertPasswordsAreKeptPrivately() throws IOException {
        Path roles = runDir.resolve("db-roles");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(roles)))
                .isEqualTo("rwx------");
        for (String role : List.of(writeRole, projectorRole, readerRole, reconcilerRole, rebuilderRole)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(roles.resolve(role))))
                    .as(role)
                    .isEqualTo("rw-------");
            assertThat(password(role)).hasSizeGreaterThanOrEqualTo(32);
        }
    }

    private void assertRolesAreNotPrivileged(TestDatabase server) throws SQLException {
        try (Connection admin = adminOnServer(server)) {
            assertThat(rows(
                            "select rolname || ' ' || (rolsuper or rolcreatedb or rolcreaterole or rolbypassrls)"
                                    + " from pg_roles where rolname like '" + prefix + "%'",
                            admin))
                    .containsExactlyInAnyOrder(
                            writeRole + " false",
                            projectorRole + " false",
                            readerRole + " false",
                            reconcilerRole + " false",
                            rebuilderRole + " false");
        }
    }

    private void assertEachDatabaseIsOwnedByItsService(TestDatabase database, String owner) throws SQLException {
        try (Connection admin = admin(database)) {
            assertThat(rows(
                            "select pg_get_userbyid(datdba) from pg_database where datname = current_database()",
                            admin))
                    .containsExactly(owner);
            assertThat(rows(
                            "select relname || ' ' || pg_get_userbyid(relowner) from pg_class"
                                    + " where relnamespace = 'public'::regnamespace and relkind in ('r', 'p', 'S', 'v')",
                            admin))
                    .isNotEmpty()
                    .allMatch(row -> row.endsWith(" " + owner), "owned by " + owner)
                    .anyMatch(row -> row.startsWith("flyway_schema_history "));
            assertThat(rows(
                            "select proname || ' ' || pg_get_userbyid(proowner) from pg_proc"
                                    + " where pronamespace = 'public'::regnamespace",
                            admin))
                    .allMatch(row -> row.endsWith(" " + owner), "owned by " + owner);
        }
    }

    private void assertEachRoleMayDoOnlyWhatItsServiceNeeds(TestDatabase writeDb, TestDatabase readDb)
            throws SQLException {
        assertCannotConnect(writeRole, readDb);
        assertCannotConnect(projectorRole, writeDb);
        assertCannotConnect(readerRole, writeDb);
        assertCannotConnect(reconcilerRole, writeDb);
        assertCannotConnect(rebuilderRole, readDb);

        try (Connection reader = as(readerRole, readDb)) {
            assertThat(rows("select count(*) from records", reader)).hasSize(1);
            assertThat(rows("select count(*) from projection_state", reader)).hasSize(1);
            assertDenied(
                    reader,
                    "insert into records (key, version, write_count, created_at, updated_at,"
                            + " last_command_id) values ('x', 1, 1, now(), now(), 1)");
            assertDenied(reader, "update records set value = 'x'");
            assertDenied(reader, "delete from records");
            assertDenied(reader, "update projection_state set records = 0");
            assertDenied(reader, "select * from flyway_schema_history");
            assertDenied(reader, "create table mine (id int)");
        }
        try (Connection reconciler = as(reconcilerRole, readDb)) {
            assertThat(rows("select count(*) from records", reconciler)).hasSize(1);
            assertDenied(reconciler, "update records set read_count = 0");
            assertDenied(reconciler, "select * from read_totals");
            assertDenied(reconciler, "select * from projection_state");
        }
        try (Connection rebuilder = as(rebuilderRole, writeDb)) {
            assertThat(rows("select count(*) from key_state", rebuilder)).hasSize(1);
            assertThat(rows("select count(*) from commands", rebuilder)).hasSize(1);
            assertThat(rows("select count(*) from outbox", rebuilder)).hasSize(1);
            assertDenied(rebuilder, "update key_state set version = 1");
            assertDenied(rebuilder, "delete from commands");
            assertDenied(rebuilder, "select * from idempotency_keys");
            assertDenied(rebuilder, "create table mine (id int)");
        }
    }

    private void assertServicesConnectAsTheirRoles(TestDatabase writeDb, TestDatabase readDb, int writeManagementPort)
            throws SQLException {
        // The reconciliation connects for its passes: wait until one has run, as its role.
        await().atMost(Duration.ofSeconds(60))
                .until(() -> metric(writeManagementPort, "cqrs_reconcile_pass_seconds_count") > 0);
        Set<String> expected = Set.of(
                writeDb.name() + " write-service " + writeRole,
                readDb.name() + " projector-service " + projectorRole,
                readDb.name() + " read-service " + readerRole,
                readDb.name() + " cqrs-read-listener " + readerRole);
        try (Connection admin = adminOnServer(readDb)) {
            List<String> backends = rows(
                    "select datname || ' ' || application_name || ' ' || usename from pg_stat_activity"
                            + " where datname in ('" + writeDb.name() + "', '" + readDb.name() + "')"
                            + " and pid <> pg_backend_pid()",
                    admin);
            assertThat(backends).as("connections by application").containsAll(expected);
            assertThat(backends)
                    .as("nothing else on these databases but the reconciliation, as its role")
                    .allMatch(backend -> expected.contains(backend) || backend.endsWith(" " + reconcilerRole));
            assertThat(rows(
                            "select count(*) from pg_stat_activity a join pg_roles r on r.oid = a.usesysid"
                                    + " where datname in ('" + writeDb.name() + "', '" + readDb.name() + "')"
                                    + " and r.rolsuper and pid <> pg_backend_pid()",
                            admin))
                    .containsExactly("0");
        }
    }

    private void assertWritesAreReadAndCounted(
            TestDatabase writeDb, TestDatabase readDb, Map<String, String> environment) throws SQLException {
        var write = new LocalHttp(Integer.parseInt(environment.get("WRITE_PORT")));
        var read = new LocalHttp(Integer.parseInt(environment.get("READ_PORT")));
        HttpResponse<String> written = write.postJson("/write", "{\"key\":\"least\",\"value\":\"privilege\"}");
        assertThat(written.statusCode()).as(written.body()).isEqualTo(200);
        HttpResponse<String> answer = read.get("/read/least?min_version=1&wait_ms=10000");
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        assertThat(answer.body()).contains("\"value\":\"privilege\"");
        try (Connection admin = admin(readDb)) {
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> rows("select read_count from records where key = 'least'", admin)
                            .equals(List.of("1")));
        }
    }

    // --- helpers ---

    private String stackSh(Map<String, String> environment, String command) throws IOException, InterruptedException {
        Files.createDirectories(runDir);
        Path output = runDir.resolve("stack-sh-" + (++runs) + "-" + command + ".out");
        var process = new ProcessBuilder("bash", "stack.sh", command)
                .directory(ROOT.toFile())
                .redirectErrorStream(true)
                .redirectOutput(output.toFile());
        process.environment().clear();
        process.environment().putAll(environment);
        Process started = process.start();
        if (!started.waitFor(SCRIPT_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            started.destroyForcibly();
            throw new AssertionError("./stack.sh " + command + " did not finish within " + SCRIPT_TIMEOUT + ":\n"
                    + Files.readString(output));
        }
        String text = Files.readString(output);
        assertThat(started.exitValue())
                .as("./stack.sh " + command + ":\n" + text)
                .isZero();
        return text;
    }

    private String password(String role) throws IOException {
        return Files.readString(runDir.resolve("db-roles").resolve(role)).strip();
    }

    private Connection as(String role, TestDatabase database) throws SQLException {
        try {
            return DriverManager.getConnection(url(database), role, password(role));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void assertCannotConnect(String role, TestDatabase database) {
        assertThatThrownBy(() -> as(role, database).close())
                .as(role + " connects to " + database.name())
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("permission denied for database");
    }

    private static void assertDenied(Connection connection, String sql) {
        assertThatThrownBy(() -> connection.createStatement().execute(sql))
                .as(sql)
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("permission denied");
    }

    private static List<String> rows(String sql, Connection connection) throws SQLException {
        var rows = new ArrayList<String>();
        try (var result = connection.createStatement().executeQuery(sql)) {
            while (result.next()) {
                rows.add(result.getString(1));
            }
        }
        return rows;
    }

    private static Connection admin(TestDatabase database) throws SQLException {
        return DriverManager.getConnection(url(database), database.username(), database.password());
    }

    private static Connection adminOnServer(TestDatabase database) throws SQLException {
        return DriverManager.getConnection(
                url(database).replaceFirst("/[^/]+$", "/postgres"), database.username(), database.password());
    }

    /** The database's URL without the administrative user and password the test URLs carry as parameters. */
    private static String url(TestDatabase database) {
        return database.jdbcUrl().replaceFirst("\\?.*$", "");
    }

    private static void deleteStreams(String stream) {
        var client = RedisClient.create(TestRedis.url());
        try (var connection = client.connect()) {
            connection.sync().del(Stack.allKeysOf(stream));
        } finally {
            client.shutdown();
        }
    }

    private void dropRoles(TestDatabase server) throws SQLException {
        try (Connection admin = adminOnServer(server)) {
            for (String role : List.of(writeRole, projectorRole, readerRole, reconcilerRole, rebuilderRole)) {
                admin.createStatement().execute("drop role if exists " + role);
            }
        }
    }

    private static double metric(int port, String name) throws IOException, InterruptedException {
        HttpResponse<String> page = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/prometheus"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        Matcher value = Pattern.compile("(?m)^" + Pattern.quote(name) + "(\\{[^}]*})? (\\S+)$")
                .matcher(page.body());
        return value.find() ? Double.parseDouble(value.group(2)) : 0;
    }
}
