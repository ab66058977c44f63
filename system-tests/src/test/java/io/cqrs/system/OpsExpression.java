package io.cqrs.system;

import com.jayway.jsonpath.JsonPath;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.yaml.snakeyaml.Yaml;

/**
 * One PromQL expression of {@code ops/} (an alert or recording rule, or a dashboard query), and the metric names and
 * selectors in it. Not a PromQL parser: it drops what cannot name a metric (strings, label matchers, grouping
 * clauses, ranges, Grafana variables) and keeps the identifiers that are neither functions nor keywords.
 */
record OpsExpression(String where, String expr) {

    /** Series Prometheus makes itself rather than scraping them. */
    static final Set<String> PROMETHEUS_OWN = Set.of(
            "up",
            "ALERTS",
            "ALERTS_FOR_STATE",
            "scrape_duration_seconds",
            "scrape_samples_scraped",
            "scrape_samples_post_metric_relabeling",
            "scrape_series_added");

    private static final Set<String> FUNCTIONS_AND_KEYWORDS = Set.of(
            // aggregations
            "sum",
            "min",
            "max",
            "avg",
            "group",
            "stddev",
            "stdvar",
            "count",
            "count_values",
            "bottomk",
            "topk",
            "quantile",
            // binary operators and modifiers
            "and",
            "or",
            "unless",
            "bool",
            "by",
            "without",
            "on",
            "ignoring",
            "group_left",
            "group_right",
            "offset",
            // functions
            "abs",
            "absent",
            "absent_over_time",
            "ceil",
            "changes",
            "clamp",
            "clamp_max",
            "clamp_min",
            "day_of_month",
            "day_of_week",
            "day_of_year",
            "days_in_month",
            "delta",
            "deriv",
            "exp",
            "floor",
            "histogram_quantile",
            "holt_winters",
            "hour",
            "idelta",
            "increase",
            "irate",
            "label_join",
            "label_replace",
            "ln",
            "log2",
            "log10",
            "minute",
            "month",
            "predict_linear",
            "rate",
            "resets",
            "round",
            "scalar",
            "sgn",
            "sort",
            "sort_desc",
            "sqrt",
            "time",
            "timestamp",
            "vector",
            "year",
            "avg_over_time",
            "min_over_time",
            "max_over_time",
            "sum_over_time",
            "count_over_time",
            "quantile_over_time",
            "stddev_over_time",
            "stdvar_over_time",
            "last_over_time",
            "present_over_time",
            "acos",
            "acosh",
            "asin",
            "asinh",
            "atan",
            "atanh",
            "cos",
            "cosh",
            "sin",
            "sinh",
            "tan",
            "tanh",
            "deg",
            "rad",
            "pi",
            // literals
            "NaN",
            "Inf",
            "nan",
            "inf");

    private static final Pattern STRING = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'");
    private static final Pattern GRAFANA_VARIABLE = Pattern.compile("\\$\\{[^}]*}|\\$\\w+|\\[\\[\\w+]]");
    private static final Pattern GROUPING =
            Pattern.compile("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
    private static final Pattern RANGE = Pattern.compile("\\[[^]]*]");
    private static final Pattern MATCHERS = Pattern.compile("\\{[^}]*}");
    private static final Pattern IDENTIFIER = Pattern.compile("(?<![\\w.:])[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern SELECTOR = Pattern.compile("(?<![\\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*\\{([^}]*)}");
    private static final Pattern EQUALITY = Pattern.compile("([a-zA-Z_]\\w*)\\s*=\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");

    /** A metric selector with its exact ({@code =}) label matchers; {@code =~}, {@code !=} and {@code !~} are left out. */
    record Selector(String name, Map<String, String> labels) {
        @Override
        public String toString() {
            return name + labels;
        }
    }

    /** The metric names the expression reads. */
    Set<String> metricNames() {
        String text = GRAFANA_VARIABLE.matcher(expr).replaceAll("1");
        text = STRING.matcher(text).replaceAll("\"\"");
        text = MATCHERS.matcher(text).replaceAll(" ");
        text = GROUPING.matcher(text).replaceAll(" ");
        text = RANGE.matcher(text).replaceAll(" ");
        var names = new LinkedHashSet<String>();
        Matcher identifier = IDENTIFIER.matcher(text);
        while (identifier.find()) {
            if (!FUNCTIONS_AND_KEYWORDS.contains(identifier.group())) {
                names.add(identifier.group());
            }
        }
        return names;
    }

    /** The selectors with braces, and their exact label matchers. */
    List<Selector> selectors() {
        var selectors = new ArrayList<Selector>();
        Matcher selector = SELECTOR.matcher(expr);
        while (selector.find()) {
            if (FUNCTIONS_AND_KEYWORDS.contains(selector.group(1))) {
                continue;
            }
            var labels = new TreeMap<String, String>();
            Matcher equality = EQUALITY.matcher(selector.group(2));
            while (equality.find()) {
                // The pattern wants "=" right after the name: "!=" and "=~" matchers are not exact ones.
                if (!GRAFANA_VARIABLE.matcher(equality.group(2)).find()) {
                    labels.put(equality.group(1), equality.group(2));
                }
            }
            selectors.add(new Selector(selector.group(1), labels));
        }
        return selectors;
    }

    /** Every rule's {@code expr} in the rule files under a folder (YAML files with {@code groups:}). */
    static List<OpsExpression> inRuleFiles(Path folder) throws IOException {
        var expressions = new ArrayList<OpsExpression>();
        for (Path file : files(folder, ".yml")) {
            Map<String, Object> content = new Yaml().load(Files.readString(file));
            if (content == null || !content.containsKey("groups")) {
                continue;
            }
            for (Object group : (List<?>) content.get("groups")) {
                for (Object rule : (List<?>) ((Map<?, ?>) group).get("rules")) {
                    Map<?, ?> fields = (Map<?, ?>) rule;
                    Object name = fields.containsKey("alert") ? fields.get("alert") : fields.get("record");
                    expressions.add(new OpsExpression(
                            folder.relativize(file) + " " + name, String.valueOf(fields.get("expr"))));
                }
            }
        }
        return expressions;
    }

    /** Every query ({@code expr}, and template variables' {@code query}) of the dashboards under a folder. */
    static List<OpsExpression> inDashboards(Path folder) throws IOException {
        var expressions = new ArrayList<OpsExpression>();
        for (Path file : files(folder, ".json")) {
            var dashboard = JsonPath.parse(Files.readString(file));
            int before = expressions.size();
            List<Map<String, Object>> targets = dashboard.read("$..targets[*]");
            List<Map<String, Object>> panels = dashboard.read("$..panels[?(@.targets)]");
            for (Map<String, Object> panel : panels) {
                for (Object target : (List<?>) panel.get("targets")) {
                    Object expr = ((Map<?, ?>) target).get("expr");
                    if (expr != null) {
                        expressions.add(new OpsExpression(
                                file.getFileName() + " \"" + panel.get("title") + "\"", (String) expr));
                    }
                }
            }
            if (targets.size() != expressions.size() - before) {
                throw new IllegalStateException(file + ": a target outside any panel, or one without expr");
            }
            List<Object> variables = dashboard.read("$.templating.list[*].query");
            for (Object query : variables) {
                String text = query instanceof Map<?, ?> map ? String.valueOf(map.get("query")) : String.valueOf(query);
                // label_values(metric, label): the metric is the first argument.
                Matcher labelValues = Pattern.compile("label_values\\(\\s*(.+?)\\s*,\\s*\\w+\\s*\\)")
                        .matcher(text);
                if (labelValues.find()) {
                    expressions.add(new OpsExpression(file.getFileName() + " variable", labelValues.group(1)));
                }
            }
        }
        return expressions;
    }

    private static List<Path> files(Path folder, String suffix) throws IOException {
        try (Stream<Path> paths = Files.list(folder)) {
            return paths.filter(path -> path.getFileName().toString().endsWith(suffix))
                    .sorted()
                    .toList();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
