package io.cqrs.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.jayway.jsonpath.JsonPath;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

/**
 * The files of {@code ops/} hang together: every alert has a promtool test that sees it fire, the dashboard's panels
 * use the data source Grafana is given, and the metric-name extraction MetricNamesIT relies on reads PromQL right.
 * (promtool itself checks the rules' syntax and runs their tests, in .ci/run.)
 */
class OpsFilesTests {

    private static final Path OPS = Path.of("../ops");

    @Test
    void everyAlertHasATestThatSeesItFire() throws IOException {
        var alerts = new TreeSet<String>();
        Map<String, Object> rules = yaml(OPS.resolve("alerts.yml"));
        for (Object group : (List<?>) rules.get("groups")) {
            for (Object rule : (List<?>) ((Map<?, ?>) group).get("rules")) {
                alerts.add(String.valueOf(((Map<?, ?>) rule).get("alert")));
            }
        }
        Map<String, Object> tests = yaml(OPS.resolve("alerts.test.yml"));
        assertThat(tests.get("rule_files")).isEqualTo(List.of("alerts.yml"));
        var firing = new TreeSet<String>();
        var silent = new TreeSet<String>();
        for (Object test : (List<?>) tests.get("tests")) {
            for (Object check : (List<?>) ((Map<?, ?>) test).get("alert_rule_test")) {
                Map<?, ?> fields = (Map<?, ?>) check;
                String alert = String.valueOf(fields.get("alertname"));
                ((List<?>) fields.get("exp_alerts"))
                        .stream().findAny().ifPresentOrElse(any -> firing.add(alert), () -> silent.add(alert));
            }
        }
        assertThat(firing).as("alerts a test sees firing").isEqualTo(alerts);
        assertThat(silent).as("alerts a test sees not firing").isEqualTo(alerts);
        assertThat(yaml(OPS.resolve("prometheus.yml")).get("rule_files")).isEqualTo(List.of("alerts.yml"));
    }

    @Test
    void dashboardPanelsUseTheProvisionedDataSource() throws IOException {
        Map<String, Object> datasources = yaml(OPS.resolve("grafana/provisioning/datasources/prometheus.yml"));
        Map<?, ?> prometheus = (Map<?, ?>) ((List<?>) datasources.get("datasources")).getFirst();
        assertThat(prometheus.get("url")).isEqualTo("http://prometheus:9090");
        var dashboard = JsonPath.parse(Files.readString(OPS.resolve("grafana/dashboards/cqrs-store.json")));
        List<String> uids = dashboard.read("$..datasource.uid");
        assertThat(uids).isNotEmpty().containsOnly(String.valueOf(prometheus.get("uid")));
        List<Integer> ids = dashboard.read("$.panels[*].id");
        assertThat(Set.copyOf(ids)).as("panel ids are unique").hasSameSizeAs(ids);
        assertThat(OpsExpression.inDashboards(OPS.resolve("grafana/dashboards")))
                .allSatisfy(expression -> assertThat(expression.metricNames())
                        .as(expression.where())
                        .isNotEmpty());
    }

    @Test
    void readsMetricNamesOutOfPromQl() {
        var expression = new OpsExpression(
                "test",
                "histogram_quantile(0.99, sum by (stage, le) (rate(cqrs_stage_seconds_bucket{stage=\"x\", uri=~\"/a.*\"}"
                        + "[$__rate_interval]))) / on(instance) group_left max without (job) (up offset 5m) > 1e3"
                        + " and absent(jvm_info{application!=\"$application\"})");
        assertThat(expression.metricNames()).containsExactly("cqrs_stage_seconds_bucket", "up", "jvm_info");
        assertThat(expression.selectors())
                .containsExactly(
                        new OpsExpression.Selector("cqrs_stage_seconds_bucket", Map.of("stage", "x")),
                        new OpsExpression.Selector("jvm_info", Map.of()));
    }

    private static Map<String, Object> yaml(Path file) throws IOException {
        return new Yaml().load(Files.readString(file));
    }
}
