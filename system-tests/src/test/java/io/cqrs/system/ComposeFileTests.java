package io.cqrs.system;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * Holds the stack's files against the services' configuration, without a Docker engine: docker-compose.yml,
 * .env.example, ops/prometheus.yml, stack.sh and the README's modules table must agree with what each service's
 * application.properties reads. A setting added to a service and forgotten elsewhere fails here.
 */
class ComposeFileTests {

    private static final Path ROOT = Path.of("..");
    private static final List<String> SERVICES = List.of("write-service", "projector-service", "read-service");
    /** Services that only watch: they must start whatever state the others are in. */
    private static final List<String> MONITORING = List.of("prometheus", "grafana");
    /** Settings compose fixes for its own network, rather than passing them from .env. */
    private static final Set<String> FIXED = Set.of("SERVER_PORT", "MANAGEMENT_PORT", "MANAGEMENT_ADDRESS");
    /** Settings no two instances may share, left to the service's own default. */
    private static final Set<String> PER_INSTANCE = Set.of("PROJECTOR_CONSUMER_NAME");
    /** Variables whose default differs per service, so .env.example only shows them commented out. */
    private static final Set<String> PER_SERVICE = Set.of("SERVER_PORT", "MANAGEMENT_PORT");
    /**
     * Settings compose passes from .env with a default of its own, on purpose: containers log in ECS JSON unless told
     * otherwise, where a service started by hand logs text.
     */
    private static final Map<String, String> COMPOSE_DEFAULTS = Map.of("LOG_FORMAT", "ecs");

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*):([^}]*)}");
    /** A value compose must take from .env, refusing to start without it. */
    private static final Pattern REQUIRED = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*):\\?[^}]+}");
    /** A setting compose passes from .env or the shell, with a default. */
    private static final Pattern PASSED = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*):-([^}]*)}");
    /** A service's database login in application.properties: the user setting and its variable. */
    private static final Pattern LOGIN =
            Pattern.compile("(?m)^([a-z.-]+)(?:\\.username|-user)=\\$\\{([A-Z][A-Z0-9_]*):[^}]*}$");

    @Test
    void everyComposeServiceHasAHealthcheck() {
        composeServices()
                .forEach((name, service) -> assertThat(map(service.get("healthcheck")))
                        .as(name + " healthcheck")
                        .containsKey("test"));
    }

    @Test
    void dependenciesWaitUntilTheyAreHealthy() {
        composeServices().forEach((name, service) -> {
            Object dependsOn = service.get("depends_on");
            if (dependsOn == null) {
                return;
            }
            assertThat(dependsOn).as(name + " depends_on must name conditions").isInstanceOf(Map.class);
            map(dependsOn)
                    .forEach((dependency, condition) -> assertThat(map(condition))
                            .as(name + " → " + dependency)
                            .containsEntry("condition", "service_healthy"));
        });
        assertThat(map(composeService("read-service").get("depends_on")))
                .as("the projector migrates the read database the read service needs")
                .containsKey("projector-service");
        assertThat(composeService("prometheus"))
                .as("Prometheus must start and watch whatever is down")
                .doesNotContainKey("depends_on");
        assertThat(map(composeService("grafana").get("depends_on"))).containsOnlyKeys("prometheus");
    }

    @Test
    void everySettingAServiceReadsReachesItFromEnv() throws IOException {
        for (String service : SERVICES) {
            Map<String, String> environment = environment(composeService(service));
            placeholders(service).forEach((variable, fallback) -> {
                if (PER_INSTANCE.contains(variable)) {
                    assertThat(environment).as(service).doesNotContainKey(variable);
                    return;
                }
                assertThat(environment)
                        .as(service + " gets " + variable + " (set it in compose, or pass it from .env)")
                        .containsKey(variable);
                String value = environment.get(variable);
                Matcher passed = PASSED.matcher(value);
                if (passed.matches()) {
                    assertThat(passed.group(1)).as(service + " " + variable).isEqualTo(variable);
                    assertThat(passed.group(2))
                            .as(service + ": compose's default of " + variable + " is the service's")
                            .isEqualTo(COMPOSE_DEFAULTS.getOrDefault(variable, fallback));
                } else if (!REQUIRED.matcher(value).matches()) {
                    assertThat(variable)
                            .as(service + " " + variable + " is fixed in compose: a port, an address or a login")
                            .matches(v -> FIXED.contains(v) || v.matches("[A-Z_]*_DB_(URL|USER)|REDIS_URL"));
                }
            });
        }
    }

    @Test
    void servicesThatScalePublishNoHostPortAndTheEdgeProxiesThem() throws IOException {
        String nginx = Files.readString(ROOT.resolve("ops/edge/nginx.conf"));
        Map<String, Object> edge = composeService("edge");
        for (String service : SERVICES) {
            Map<String, Object> composed = composeService(service);
            assertThat(composed)
                    .as(service + " may run several instances: no host port, no container name")
                    .doesNotContainKeys("ports", "container_name");
            String port = placeholders(service).get("SERVER_PORT");
            assertThat(list(composed.get("expose"))).containsExactly(port);
            if (!service.equals("projector-service")) {
                assertThat(list(edge.get("ports"))).contains(port + ":" + port);
                assertThat(nginx)
                        .containsPattern("listen " + port + ";\\s+location / \\{\\s+set \\$\\w+ " + service + ":" + port
                                + ";\\s+proxy_pass http://\\$\\w+;");
            }
        }
        assertThat(list(edge.get("volumes"))).contains("./ops/edge/nginx.conf:/etc/nginx/nginx.conf:ro");
        assertThat(nginx)
                .as("Docker's DNS, asked again, so that instances that come and go are found")
                .contains("resolver 127.0.0.11 valid=5s");
    }

    @Test
    void servicesComeBackAfterACrashAndStopGracefully() {
        composeServices()
                .forEach((name, service) -> assertThat(service.get("restart"))
                        .as(name + " restart policy (the JVMs exit on OutOfMemoryError)")
                        .isEqualTo("unless-stopped"));
        for (String service : SERVICES) {
            String grace = String.valueOf(composeService(service).get("stop_grace_period"));
            assertThat(java.time.Duration.parse("PT" + grace.toUpperCase(java.util.Locale.ROOT)))
                    .as(service + " stop_grace_period: more than Spring's 30 s graceful shutdown (the last read-count"
                            + " flush), more than compose's default of 10 s")
                    .isGreaterThan(java.time.Duration.ofSeconds(30));
        }
    }

    @Test
    void buildsNeedBuildKitAndShareTheMavenCacheOneAtATime() throws IOException {
        List<String> dockerfile = Files.readAllLines(ROOT.resolve("Dockerfile"));
        assertThat(dockerfile.getFirst()).isEqualTo("# syntax=docker/dockerfile:1");
        assertThat(dockerfile)
                .filteredOn(line -> line.contains("--mount=type=cache"))
                .isNotEmpty()
                .allMatch(line -> line.contains("sharing=locked"), "sharing=locked");
        assertThat(Files.readString(ROOT.resolve("README.md")))
                .as("the README says how to build with Compose 1.x, whose default builder cannot")
                .contains("DOCKER_BUILDKIT=1");
    }

    @Test
    void prometheusLoadsTheAlertsAndGrafanaItsProvisioning() throws IOException {
        assertThat(list(composeService("prometheus").get("volumes")))
                .contains("./ops/alerts.yml:/etc/prometheus/alerts.yml:ro");
        List<String> grafana = list(composeService("grafana").get("volumes"));
        assertThat(grafana)
                .contains(
                        "./ops/grafana/provisioning:/etc/grafana/provisioning:ro",
                        "./ops/grafana/dashboards:/etc/grafana/dashboards:ro");
        assertThat(Files.readString(ROOT.resolve("ops/grafana/provisioning/dashboards/cqrs.yml")))
                .contains("path: /etc/grafana/dashboards");
        for (String service : MONITORING) {
            assertThat(composeService(service)).as(service).containsKey("healthcheck");
        }
    }

    @Test
    void composePassesEachServiceOnlyVariablesItReads() throws IOException {
        for (String service : SERVICES) {
            Map<String, Object> composed = composeService(service);
            assertThat(map(composed.get("build")).get("args"))
                    .as(service + " build args")
                    .isEqualTo(Map.of("MODULE", service));
            var read = new HashSet<>(placeholders(service).keySet());
            read.add("JAVA_TOOL_OPTIONS"); // the JVM's own: the image's heap options, which a service may replace
            assertThat(environment(composed).keySet())
                    .as(service + ": variables docker-compose.yml passes but application.properties never reads")
                    .isSubsetOf(read);
        }
    }

    @Test
    void envExampleListsEveryVariableWithItsDefault() throws IOException {
        Map<String, String> example = envExample();
        for (String service : SERVICES) {
            placeholders(service).forEach((variable, fallback) -> {
                assertThat(example)
                        .as(".env.example lists " + variable + " (read by " + service + ")")
                        .containsKey(variable);
                String listed = example.get(variable);
                if (listed != null && !PER_SERVICE.contains(variable)) {
                    assertThat(listed)
                            .as(".env.example default of " + variable + " vs " + service)
                            .isEqualTo(fallback);
                }
            });
        }
    }

    @Test
    void portsAgreeEverywhere() throws IOException {
        Map<String, String> readmePorts = readmeModulePorts();
        String stackScript = Files.readString(ROOT.resolve("stack.sh"));
        for (String service : SERVICES) {
            String port = placeholders(service).get("SERVER_PORT");
            assertThat(readmePorts).as("README modules table").containsEntry(service, port);
            Map<String, Object> composed = composeService(service);
            assertThat(environment(composed)).containsEntry("SERVER_PORT", port);
            assertThat(list(map(composed.get("healthcheck")).get("test")))
                    .contains("http://127.0.0.1:" + port + "/readyz");
            String management = placeholders(service).get("MANAGEMENT_PORT");
            assertThat(environment(composed)).containsEntry("MANAGEMENT_PORT", management);
            assertThat(list(composeService("edge").get("ports")))
                    .as("the management port is never published")
                    .noneMatch(published -> published.contains(management));
            assertThat(prometheusTarget(service))
                    .as("ops/prometheus.yml finds every " + service + " container through DNS, on its management port")
                    .isEqualTo(Map.of("names", List.of(service), "type", "A", "port", Integer.parseInt(management)));
            assertThat(stackScript).contains(service + ":" + port + ":").contains(":" + management + ":");
        }
        assertThat(Files.readString(ROOT.resolve("docker-compose.yml")))
                .contains("./ops/prometheus.yml:/etc/prometheus/prometheus.yml");
    }

    @Test
    void redisKeepsTheStreamDurableAndNeverEvictsIt() {
        assertThat(String.join(" ", list(composeService("redis").get("command"))))
                .contains("--appendonly yes")
                .contains("--appendfsync everysec")
                .contains("--maxmemory-policy noeviction");
    }

    @Test
    void everySecretComesFromEnvAndIsRequired() throws IOException {
        Map<String, String> example = envExample();
        composeServices().forEach((name, service) -> {
            environment(service).forEach((variable, value) -> {
                if (variable.contains("PASSWORD") || variable.contains("SECRET") || variable.endsWith("_AUTH")) {
                    assertThat(value).as(name + " " + variable).matches(REQUIRED);
                }
            });
            List<String> command = service.containsKey("command") ? list(service.get("command")) : List.of();
            int requirePass = command.indexOf("--requirepass");
            if (requirePass >= 0) {
                assertThat(command.get(requirePass + 1))
                        .as(name + " --requirepass")
                        .matches(REQUIRED);
            }
        });
        Matcher required = REQUIRED.matcher(Files.readString(ROOT.resolve("docker-compose.yml")));
        while (required.find()) {
            assertThat(example)
                    .as(".env.example shows " + required.group(1) + ", which compose requires")
                    .containsKey(required.group(1));
        }
        assertThat(Files.readString(ROOT.resolve("docker-compose.yml")))
                .as("no password written into a URL")
                .doesNotContainPattern("://[^/@\\s$]*:[^/@\\s$]+@");
    }

    @Test
    void everyServiceLogsInWithARoleOfItsOwnThatTheInitScriptMakes() throws IOException {
        var owners = new TreeMap<String, String>();
        for (String service : SERVICES) {
            Map<String, String> environment = environment(composeService(service));
            Matcher login = LOGIN.matcher(
                    Files.readString(ROOT.resolve(service).resolve("src/main/resources/application.properties")));
            while (login.find()) {
                String userVariable = login.group(2);
                String user = environment.get(userVariable);
                assertThat(user).as(service + " sets " + userVariable).isNotNull();
                // The URL setting beside the user's names the database, and so the compose PostgreSQL it is on.
                String urlVariable = urlVariable(service, login.group(1));
                String database = databaseService(environment.get(urlVariable));
                Map<String, String> server = environment(composeService(database));
                assertThat(user)
                        .as(service + " " + userVariable + " is not " + database + "'s superuser")
                        .isNotEqualTo(server.getOrDefault("POSTGRES_USER", "postgres"));
                String passwordVariable = userVariable.replaceFirst("_USER$", "_PASSWORD");
                assertThat(server.get("CQRS_ROLES"))
                        .as(database + " makes " + user + " with the password " + service + " sends")
                        .contains(user + ":" + passwordVariable);
                assertThat(server.get(passwordVariable)).isEqualTo(environment.get(passwordVariable));
                assertThat(owners.put(userVariable, user))
                        .as("each login is one service's")
                        .isNull();
            }
        }
        assertThat(owners.keySet())
                .containsExactlyInAnyOrder(
                        "WRITE_DB_USER",
                        "CQRS_RECONCILE_READ_DB_USER",
                        "PROJECTOR_DB_USER",
                        "READ_DB_USER",
                        "CQRS_REBUILD_WRITE_DB_USER");
        assertThat(Set.copyOf(owners.values())).as("five distinct roles").hasSize(5);
        Map<String, String> projector = environment(composeService("projector-service"));
        assertThat(projector)
                .as("the projector grants the read model to the logins the others use")
                .containsEntry("READ_DB_USER", owners.get("READ_DB_USER"))
                .containsEntry("CQRS_RECONCILE_READ_DB_USER", owners.get("CQRS_RECONCILE_READ_DB_USER"));
        assertThat(projector).doesNotContainKeys("READ_DB_PASSWORD", "CQRS_RECONCILE_READ_DB_PASSWORD");
        assertThat(environment(composeService("write-service")))
                .as("the write service grants the write database to the projector's rebuild login")
                .containsEntry("CQRS_REBUILD_WRITE_DB_USER", owners.get("CQRS_REBUILD_WRITE_DB_USER"))
                .doesNotContainKey("CQRS_REBUILD_WRITE_DB_PASSWORD");
        for (String database : List.of("write-db", "read-db")) {
            assertThat(list(composeService(database).get("volumes")))
                    .as(database + " runs db/roles/compose-init.sh on a new volume, with the SQL it needs")
                    .anyMatch(volume -> volume.startsWith("./db/roles/compose-init.sh:/docker-entrypoint-initdb.d/"))
                    .contains("./db/roles:/cqrs-roles:ro");
        }
        assertThat(Files.readString(ROOT.resolve("db/roles/compose-init.sh"))).contains("/cqrs-roles");
    }

    @Test
    void redisWantsAPasswordThatServicesAndHealthcheckSend() {
        Map<String, Object> redis = composeService("redis");
        List<String> command = list(redis.get("command"));
        assertThat(command).contains("--requirepass");
        String password = command.get(command.indexOf("--requirepass") + 1);
        for (String service : SERVICES) {
            assertThat(environment(composeService(service)).get("REDIS_URL"))
                    .as(service + " REDIS_URL")
                    .isEqualTo("redis://:" + password + "@redis:6379");
        }
        assertThat(environment(redis)).containsEntry("REDISCLI_AUTH", password);
        assertThat(String.join(" ", list(map(redis.get("healthcheck")).get("test"))))
                .as("redis-cli exits 0 on a NOAUTH error too: the check must want PONG")
                .contains("redis-cli ping")
                .contains("PONG");
    }

    @Test
    void imagesArePinned() {
        composeServices().forEach((name, service) -> {
            Object image = service.get("image");
            if (service.containsKey("build")) {
                return; // built here
            }
            assertThat(image).as(name + " image").isInstanceOf(String.class);
            assertThat((String) image)
                    .as(name + " image tag")
                    .matches(".+:[^:]*\\d+\\.\\d+[^:]*")
                    .doesNotEndWith(":latest");
        });
    }

    // --- reading the files ---

    private static Map<String, Map<String, Object>> composeServices() {
        try (var reader = Files.newBufferedReader(ROOT.resolve("docker-compose.yml"))) {
            Map<String, Object> compose = new Yaml().load(reader);
            var services = new LinkedHashMap<String, Map<String, Object>>();
            map(compose.get("services")).forEach((name, service) -> services.put(name, map(service)));
            assertThat(services).isNotEmpty();
            return services;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Map<String, Object> composeService(String name) {
        Map<String, Object> service = composeServices().get(name);
        assertThat(service).as("docker-compose.yml service " + name).isNotNull();
        return service;
    }

    /** The DNS discovery of a job of ops/prometheus.yml, without its refresh interval. */
    private static Map<String, Object> prometheusTarget(String job) {
        try (var reader = Files.newBufferedReader(ROOT.resolve("ops/prometheus.yml"))) {
            Map<String, Object> prometheus = new Yaml().load(reader);
            for (Object config : list(prometheus.get("scrape_configs"), Object.class)) {
                if (job.equals(map(config).get("job_name"))) {
                    assertThat(map(config)).containsEntry("metrics_path", "/actuator/prometheus");
                    var discovery = new TreeMap<>(map(list(map(config).get("dns_sd_configs"), Object.class)
                            .getFirst()));
                    discovery.remove("refresh_interval");
                    return discovery;
                }
            }
            throw new AssertionError("ops/prometheus.yml has no job " + job);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A service's environment, in either compose form (map, or list of NAME=value). */
    private static Map<String, String> environment(Map<String, Object> service) {
        Object environment = service.get("environment");
        var variables = new TreeMap<String, String>();
        if (environment instanceof Map<?, ?> entries) {
            entries.forEach((name, value) -> variables.put(String.valueOf(name), String.valueOf(value)));
        } else if (environment instanceof List<?> entries) {
            for (Object entry : entries) {
                String[] parts = String.valueOf(entry).split("=", 2);
                variables.put(parts[0], parts.length > 1 ? parts[1] : "");
            }
        }
        return variables;
    }

    /** The variable of the URL setting beside a user setting ({@code x.username} → {@code x.url}, {@code x-user}). */
    private static String urlVariable(String service, String prefix) throws IOException {
        String properties =
                Files.readString(ROOT.resolve(service).resolve("src/main/resources/application.properties"));
        Matcher url = Pattern.compile("(?m)^" + Pattern.quote(prefix) + "(?:\\.url|-url)=\\$\\{([A-Z][A-Z0-9_]*):")
                .matcher(properties);
        assertThat(url.find()).as(service + ": the URL beside " + prefix).isTrue();
        return url.group(1);
    }

    /** The compose service a JDBC URL points at. */
    private static String databaseService(String jdbcUrl) {
        Matcher host = Pattern.compile("^jdbc:postgresql://([^:/]+)").matcher(String.valueOf(jdbcUrl));
        assertThat(host.find()).as("a JDBC URL: " + jdbcUrl).isTrue();
        return host.group(1);
    }

    /** Every {@code ${VAR:default}} of a service's application.properties. */
    private static Map<String, String> placeholders(String service) throws IOException {
        String properties =
                Files.readString(ROOT.resolve(service).resolve("src/main/resources/application.properties"));
        var variables = new TreeMap<String, String>();
        Matcher matcher = PLACEHOLDER.matcher(properties);
        while (matcher.find()) {
            variables.put(matcher.group(1), matcher.group(2));
        }
        assertThat(variables).as(service + " placeholders").containsKey("SERVER_PORT");
        return variables;
    }

    /** {@code NAME=value} lines of .env.example; commented-out {@code # NAME=value} lines count as listed. */
    private static Map<String, String> envExample() throws IOException {
        var variables = new TreeMap<String, String>();
        Pattern line = Pattern.compile("^(#\\s*)?([A-Z][A-Z0-9_]*)=(.*)$");
        for (String text : Files.readAllLines(ROOT.resolve(".env.example"))) {
            Matcher matcher = line.matcher(text);
            if (matcher.matches()) {
                variables.put(matcher.group(2), matcher.group(3));
            }
        }
        return variables;
    }

    /** Rows {@code | `module` | responsibility | port |} of the README's modules table. */
    private static Map<String, String> readmeModulePorts() throws IOException {
        var ports = new TreeMap<String, String>();
        Pattern row = Pattern.compile("^\\|\\s*`([a-z-]+)`\\s*\\|.*\\|\\s*(\\d+|–)\\s*\\|\\s*$");
        for (String text : Files.readAllLines(ROOT.resolve("README.md"))) {
            Matcher matcher = row.matcher(text);
            if (matcher.matches()) {
                ports.put(matcher.group(1), matcher.group(2));
            }
        }
        assertThat(ports.keySet()).as("README modules table").containsAll(Set.copyOf(SERVICES));
        return ports;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value) {
        assertThat(value).isInstanceOf(Map.class);
        return (Map<String, Object>) value;
    }

    private static List<Object> list(Object value, Class<Object> type) {
        assertThat(value).isInstanceOf(List.class);
        return ((List<?>) value).stream().map(type::cast).toList();
    }

    private static List<String> list(Object value) {
        assertThat(value).isInstanceOf(List.class);
        return ((List<?>) value).stream().map(String::valueOf).toList();
    }
}
