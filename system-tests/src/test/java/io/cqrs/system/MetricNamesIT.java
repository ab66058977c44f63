package io.cqrs.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.cqrs.testsupport.LocalHttp;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The alert rules and the Grafana dashboard in {@code ops/} name only metrics the services export: the three services
 * run, get a few writes, reads, deletes and refusals, and their {@code /actuator/prometheus} is scraped; every metric
 * name in every PromQL expression of {@code ops/} must be among the scraped ones (or Prometheus's own), and every
 * {@code cqrs_} selector's exact label values must match a scraped series. A renamed meter, or a typo in a rule, fails
 * here instead of leaving an alert that can never fire or an empty panel.
 */
class MetricNamesIT {

    private static final Path ROOT = Path.of("..");

    private static @Nullable Stack stack;
    private static Exposition exported = new Exposition(Map.of());

    @BeforeAll
    static void startStackAndScrape() throws IOException {
        stack = new Stack(Map.of(), Map.of("CQRS_READ_COUNT_FLUSH_INTERVAL", "200ms")).start();
        String key = "metrics-" + System.nanoTime();
        LocalHttp write = stack.write.http();
        LocalHttp read = stack.read.http();
        ok(write.postJson("/write", "{\"key\":\"" + key + "\",\"value\":\"v1\"}"));
        ok(write.putJson("/write", "{\"key\":\"" + key + "\",\"value\":\"v2\"}"));
        ok(write.postJson("/write/batch", "{\"commands\":[{\"key\":\"" + key + "-b\",\"value\":\"b\"}]}"));
        ok(write.delete("/write/" + LocalHttp.segment(key + "-b")));
        assertThat(write.postJson("/write", "{\"key\":\"\",\"value\":\"v\"}").statusCode())
                .isEqualTo(400);
        assertThat(write.anonymous().postJson("/write", "{}").statusCode()).isEqualTo(401);
        ok(read.get("/read/" + LocalHttp.segment(key) + "?min_version=2"));
        assertThat(read.get("/read/" + LocalHttp.segment(key + "-b") + "?min_version=2")
                        .statusCode())
                .isEqualTo(404);
        ok(read.get("/stats"));
        ok(read.get("/health"));
        ok(write.get("/stats"));
        // Stored read counts, and a projector that has reported its batch, before the scrape.
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            Exposition now = scrapeAll();
            assertThat(now.names()).contains("cqrs_projector_apply_seconds_count", "cqrs_read_requests_total");
            assertThat(now.value("cqrs_read_count_unflushed_reads")).isZero();
        });
        exported = scrapeAll();
        Path dump =
                Path.of(System.getProperty("cqrs.system-tests.logs", "target")).resolve("metric-names.txt");
        Files.createDirectories(dump.getParent());
        Files.write(dump, exported.describe());
    }

    @AfterAll
    static void stopStack() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void everyMetricTheAlertRulesNameIsExported() throws IOException {
        List<OpsExpression> rules = OpsExpression.inRuleFiles(ROOT.resolve("ops"));
        assertThat(rules).as("alert rules in ops/").hasSizeGreaterThan(10);
        assertNamesExported(rules);
    }

    @Test
    void everyMetricTheDashboardNamesIsExported() throws IOException {
        List<OpsExpression> panels = OpsExpression.inDashboards(ROOT.resolve("ops/grafana/dashboards"));
        assertThat(panels).as("dashboard queries in ops/grafana/dashboards").hasSizeGreaterThan(10);
        assertNamesExported(panels);
    }

    @Test
    void theCountersAlertsWatchExistAtZeroBeforeTheirFirstEvent() {
        // increase() over a series that appears with its first event misses that event: each is registered at start.
        assertThat(Map.of(
                        "cqrs_projector_events_total", Map.of("result", "dead_lettered"),
                        "cqrs_stream_group_recreated_total", Map.<String, String>of(),
                        "cqrs_outbox_replays_total", Map.of("kind", "lost"),
                        "cqrs_write_commands_total", Map.of("op", "write", "result", "unavailable"),
                        "cqrs_reconcile_divergences", Map.of("kind", "ahead")))
                .allSatisfy((name, labels) -> assertThat(exported.hasSeries(name, withValue(labels, "0.0")))
                        .as(name + labels + " exported at 0")
                        .isTrue());
    }

    private static Map<String, String> withValue(Map<String, String> labels, String value) {
        var series = new TreeMap<>(labels);
        series.put("__value__", value);
        return series;
    }

    private static void assertNamesExported(List<OpsExpression> expressions) {
        var problems = new TreeSet<String>();
        for (OpsExpression expression : expressions) {
            for (String name : expression.metricNames()) {
                if (!OpsExpression.PROMETHEUS_OWN.contains(name)
                        && !exported.names().contains(name)) {
                    problems.add("no service exports " + name + " (" + expression.where() + ")");
                }
            }
            for (OpsExpression.Selector selector : expression.selectors()) {
                if (selector.name().startsWith("cqrs_")
                        && exported.names().contains(selector.name())
                        && !exported.hasSeries(selector.name(), selector.labels())) {
                    problems.add("no exported series matches " + selector + " (" + expression.where() + ")");
                }
            }
        }
        assertThat(problems).isEmpty();
    }

    private static Exposition scrapeAll() {
        Stack running = stack;
        assertThat(running).isNotNull();
        var series = new TreeMap<String, List<Map<String, String>>>();
        for (var service : List.of(running.write, running.projector, running.read)) {
            HttpResponse<String> response = service.management().get("/actuator/prometheus");
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            Exposition.parse(response.body())
                    .series()
                    .forEach((name, labels) ->
                            series.computeIfAbsent(name, n -> new ArrayList<>()).addAll(labels));
        }
        return new Exposition(series);
    }

    private static void ok(HttpResponse<String> response) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    }

    /** Scraped samples: metric name → the label sets of its series (values kept as the {@code __value__} label). */
    record Exposition(Map<String, List<Map<String, String>>> series) {

        static Exposition parse(String text) {
            var series = new TreeMap<String, List<Map<String, String>>>();
            for (String line : text.split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                int brace = line.indexOf('{');
                int space = line.indexOf(' ');
                String name = line.substring(0, brace >= 0 && brace < space ? brace : space);
                var labels = new TreeMap<String, String>();
                String rest = line;
                if (brace >= 0 && brace < space) {
                    int end = line.lastIndexOf('}');
                    var matcher = java.util.regex.Pattern.compile("([a-zA-Z_]\\w*)=\"((?:[^\"\\\\]|\\\\.)*)\"")
                            .matcher(line.substring(brace + 1, end));
                    while (matcher.find()) {
                        labels.put(matcher.group(1), matcher.group(2));
                    }
                    rest = line.substring(end + 1);
                } else {
                    rest = line.substring(space);
                }
                labels.put("__value__", rest.trim().split(" ")[0]);
                series.computeIfAbsent(name, n -> new ArrayList<>()).add(labels);
            }
            return new Exposition(series);
        }

        Set<String> names() {
            return series.keySet();
        }

        boolean hasSeries(String name, Map<String, String> labels) {
            return series.getOrDefault(name, List.of()).stream()
                    .anyMatch(s -> s.entrySet().containsAll(labels.entrySet()));
        }

        double value(String name) {
            return series.getOrDefault(name, List.of()).stream()
                    .mapToDouble(s -> Double.parseDouble(s.get("__value__")))
                    .sum();
        }

        List<String> describe() {
            var lines = new ArrayList<String>();
            series.forEach((name, all) -> {
                var labelSets = new TreeSet<String>();
                all.forEach(labels -> {
                    var shown = new TreeMap<>(labels);
                    shown.remove("__value__");
                    shown.remove("le");
                    shown.remove("quantile");
                    labelSets.add(shown.toString());
                });
                lines.add(name + " " + labelSets);
            });
            return lines;
        }
    }
}
