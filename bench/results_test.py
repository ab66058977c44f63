#!/usr/bin/env python3
"""Checks bench/results.py against the runs recorded in bench/results/ and bench/RESULTS.md.

    python3 bench/results_test.py

Each recorded run of the current format (and an example run made here from made-up measurements) is taken apart into
the measurement files and options run.sh hands to results.py; putting them together again must give the same file,
byte for byte, and the same row in the table. Runs of older formats must keep their rows in the older table.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

BENCH = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(BENCH, "results.py")
sys.path.insert(0, BENCH)
import results  # noqa: E402

WRK_OUTPUT = """Running 20s test @ http://127.0.0.1:8081
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     9.52ms    4.51ms  81.06ms   83.90%
    Req/Sec     1.69k   205.33     2.21k    71.75%
  Latency Distribution
     50%    8.87ms
     75%   10.77ms
     90%   14.28ms
     99%   24.29ms
  67444 requests in 20.02s, 21.87MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 3
Requests/sec:   3369.65
Transfer/sec:      1.09MB
"""


def recorded(current):
    """Recorded runs of the current format (current=True) or of the one before the steady-state harness."""
    directory = os.path.join(BENCH, "results")
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name)) as f:
            text = f.read()
        run = json.loads(text)
        # "probe_failure_reasons" since the legacy format's last change; older runs lack fields and are not checked.
        if "probe_failure_reasons" in run and ("writes_vs_peer" in run) == current:
            yield name, text, run


def windows(*rates, jit=0.5):
    """Warm-up windows of 5 s at these rates, the JIT compiling for `jit` s in each but the last (0.01 s)."""
    return [{"elapsed_s": 5.0 * (i + 1), "rps": rate, "jit_compiles": 100 if i < len(rates) - 1 else 2,
             "jit_seconds": jit if i < len(rates) - 1 else 0.01} for i, rate in enumerate(rates)]


def measured(rps, p99_ms, cpu, warm):
    return {"rps": rps, "p50_ms": 1.5, "p99_ms": p99_ms, "errors": 0, "cpu_us_per_request": cpu,
            "warmup": results.warmup(warm, 5, rps)}


# Made-up measurements of a run, as run.sh leaves them.
EXAMPLE = {
    "write": measured(3000.0, 20.5, {"write-service": 150, "projector-service": 60, "read-service": 5,
                                     "naive-write": 0, "postgres": 180, "redis": 15, "other": 30, "busy": 440},
                      windows(1200.0, 2500.0, 2900.0, 2950.0)),
    "read": measured(30000.0, 4.5, {"read-service": 40, "postgres": 7, "other": 15, "busy": 62},
                     windows(20000.0, 29500.0, 30100.0)),
    "peer": measured(2000.0, 30.0, {"naive-write": 200, "postgres": 220, "redis": 20, "other": 40, "busy": 480},
                     windows(900.0, 1900.0, 1950.0)),
    "peer-trivial": measured(40000.0, 3.0, {}, windows(38000.0, 39000.0)),
    "trivial-write": measured(20000.0, 3.0, {}, windows(19000.0, 19500.0)),
    "trivial-read": measured(34000.0, 3.0, {}, windows(30000.0, 34000.0, 34500.0)),
    "probe": {"lag_p50_ms": 12.5, "lag_p99_ms": 40.25, "lag_max_ms": 80.0, "achieved_rate": 1500.0, "failures": 0,
              "failure_reasons": {}},
    "probe-low": {"lag_p50_ms": 5.0, "lag_p99_ms": 30.0, "lag_max_ms": 70.0, "achieved_rate": 500.0, "failures": 0,
                  "failure_reasons": {}},
    "load": {"events": 1000000, "events_per_second": 25000.0},
    "caught-up": {"seconds": 20.0},
}
EXAMPLE_OPTIONS = [
    "--timestamp", "20261128T170000Z", "--quick", "false", "--duration", "20", "--catchup-events", "1000000",
    "--pg-insert-tps", "15000.5", "--pg-select-tps", "40000.0", "--redis-xadd-rps", "40000.0",
    "--rss-write", "350", "--rss-projector", "360", "--rss-read", "370", "--healthy", "true",
    "--redis-before", "1800000", "--redis-after-writes", "2500000", "--redis-after", "1900000",
    "--stream-length", "0", "--stack-started", "true", "--window", "5", "--warm-cap", "300", "--probe-warm", "30",
    "--baseline-cpu-us-per-write", "1000",
]


def write_measurements(measurements, directory):
    for name, measurement in measurements.items():
        with open(os.path.join(directory, name + ".json"), "w") as f:
            f.write(json.dumps(measurement) + "\n")


def taken_apart(run, directory):
    """The measurement files and options that run.sh would have handed over for this run."""
    measurements = {
        "write": {"rps": run["write_rps"], "p50_ms": run["write_p50_ms"], "p99_ms": run["write_p99_ms"],
                  "errors": run["write_errors"], "cpu_us_per_request": run["write_cpu_us_per_request"]},
        "read": {"rps": run["read_rps"], "p50_ms": run["read_p50_ms"], "p99_ms": run["read_p99_ms"],
                 "errors": run["read_errors"], "cpu_us_per_request": run["read_cpu_us_per_request"]},
        "trivial-write": {"rps": run["ceiling_trivial_write_rps"], "p50_ms": 0.5, "p99_ms": 2.0, "errors": 0,
                          "cpu_us_per_request": {}},
        "trivial-read": {"rps": run["ceiling_trivial_read_rps"], "p50_ms": 0.5, "p99_ms": 2.0, "errors": 0,
                         "cpu_us_per_request": {}},
        "peer": {"rps": run["peer_write_rps"], "p50_ms": run["peer_write_p50_ms"], "p99_ms": run["peer_write_p99_ms"],
                 "errors": run["peer_write_errors"], "cpu_us_per_request": run["peer_cpu_us_per_request"]},
        "peer-trivial": {"rps": run["ceiling_peer_trivial_rps"], "p50_ms": 0.5, "p99_ms": 2.0, "errors": 0,
                         "cpu_us_per_request": {}},
        "probe": {"lag_p50_ms": run["lag_p50_ms"], "lag_p99_ms": run["lag_p99_ms"], "lag_max_ms": run["lag_max_ms"],
                  "achieved_rate": run["probe_rate"], "failures": run["probe_failures"],
                  "failure_reasons": run["probe_failure_reasons"]},
        "probe-low": {"lag_p50_ms": run["lag_at_500_p50_ms"], "lag_p99_ms": run["lag_at_500_p99_ms"],
                      "lag_max_ms": run["lag_at_500_max_ms"], "achieved_rate": run["probe_at_500_rate"],
                      "failures": 0, "failure_reasons": {}},
        "load": {"events": run["catchup_events"], "events_per_second": run["batch_load_eps"]},
        "caught-up": {"seconds": run["catchup_seconds"]},
    }
    for name in results.WARMED:
        measurements[name]["warmup"] = run["warmup"][name]
    if "stages_at_500" in run:
        measurements["probe"]["stages"] = run["stages"]
        measurements["probe-low"]["stages"] = run["stages_at_500"]
    write_measurements(measurements, directory)
    if "cpu_us_per_write_at_500" in run:
        writes = run["probe_at_500_writes"]
        measurements["probe-low"]["writes"] = writes
        write_measurements({"probe-low": measurements["probe-low"]}, directory)
        with open(os.path.join(directory, "probe-low.cpu"), "w") as f:
            spent = {k: v * writes / 1e6 for k, v in run["cpu_us_per_write_at_500"].items()}
            f.write(json.dumps({**spent, "wall": 20.0}) + "\n")
    baseline = run["baseline_cpu_us_per_write"]
    return [
        "--timestamp", run["timestamp"], "--quick", str(run["quick"]).lower(), "--duration", str(run["duration_s"]),
        "--catchup-events", str(run["catchup_events"]),
        "--pg-insert-tps", repr(run["ceiling_pg_insert_tps"]), "--pg-select-tps", repr(run["ceiling_pg_select_tps"]),
        "--redis-xadd-rps", repr(run["ceiling_redis_xadd_rps"]),
        "--rss-write", str(run["rss_mb"]["write"]), "--rss-projector", str(run["rss_mb"]["projector"]),
        "--rss-read", str(run["rss_mb"]["read"]), "--healthy", str(run["healthy_after"]).lower(),
        "--redis-before", str(run["redis_used_memory_before"]),
        "--redis-after-writes", str(run["redis_used_memory_after_writes"]),
        "--redis-after", str(run["redis_used_memory_after"]), "--stream-length", str(run["stream_length_after"]),
        "--stack-started", str(run["stack_started"]).lower(), "--window", str(run["warmup_window_s"]),
        "--warm-cap", str(run["warmup_cap_s"]), "--probe-warm", str(run["probe_warmup_s"]),
        "--baseline-cpu-us-per-write", "" if baseline is None else repr(baseline),
    ]


def table_rows():
    with open(os.path.join(BENCH, "RESULTS.md")) as f:
        return [line for line in f if line.startswith("| 2")]


class ResultsTest(unittest.TestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.directory)

    def write(self, options):
        """results.py write on the measurements in the directory: (the file it wrote, what it printed last)."""
        out = os.path.join(self.directory, "out.json")
        printed = subprocess.run(
            [sys.executable, SCRIPT, "write", "--measurements", self.directory, "--out", out,
             "--table", os.path.join(self.directory, "RESULTS.md"), *options],
            check=True, capture_output=True, text=True).stdout
        with open(out) as f:
            return f.read(), json.loads(printed.splitlines()[-1])

    def example(self):
        write_measurements(EXAMPLE, self.directory)
        return self.write(EXAMPLE_OPTIONS)

    def test_puts_every_recorded_run_together_again_as_it_was(self):
        runs = [("example", *self.example()), *recorded(current=True)]
        for name, text, run in runs:
            with self.subTest(run=name):
                written, printed = self.write(taken_apart(run, self.directory))
                self.assertEqual(written, text)
                self.assertEqual(printed, run)

    def test_gives_the_cpu_per_write_at_500_writes_per_second_by_component(self):
        write_measurements({**EXAMPLE, "probe-low": {**EXAMPLE["probe-low"], "writes": 10000}}, self.directory)
        with open(os.path.join(self.directory, "probe-low.cpu"), "w") as f:
            f.write(json.dumps({"write-service": 6.5, "projector-service": 4.0, "read-service": 5.5, "naive-write": 0.0,
                                "postgres": 12.0, "redis": 1.25, "other": 6.0, "busy": 35.25, "wall": 20.0}) + "\n")

        _, r = self.write(EXAMPLE_OPTIONS)

        self.assertEqual(r["probe_at_500_writes"], 10000)
        self.assertEqual(r["cpu_us_per_write_at_500"]["write-service"], 650)
        self.assertEqual(r["cpu_us_per_write_at_500"]["busy"], 3525)
        self.assertEqual(r["stack_cpu_us_per_write_at_500"], 650 + 400 + 550 + 1200 + 125)

    def test_has_no_cpu_at_500_writes_per_second_when_the_run_did_not_measure_it(self):
        _, r = self.example()

        self.assertNotIn("cpu_us_per_write_at_500", r)

    def test_sets_the_peer_beside_the_writes(self):
        _, run = self.example()

        self.assertEqual(run["writes_vs_peer"], 1.5)
        self.assertEqual(run["peer_vs_trivial"], 0.05)
        self.assertEqual(run["write_cpu_us_per_write"], 410)  # the stack's components, not wrk ("other")
        self.assertEqual(run["peer_cpu_us_per_write"], 440)
        self.assertEqual(run["write_cpu_vs_peer"], 0.932)

    def test_judges_the_targets_of_issue_18(self):
        _, run = self.example()

        self.assertEqual(run["targets"], {
            "writes_vs_peer": {"value": 1.5, "target": ">= 1.5", "met": True},
            "writes_vs_trivial": {"value": 0.15, "target": ">= 0.2", "met": False},
            "cpu_per_write_vs_baseline": {"value": 0.41, "target": "<= 0.5", "met": True},
            "reads_vs_trivial": {"value": 0.882, "target": ">= 0.85", "met": True},
            "read_p99_ms": {"value": 4.5, "target": "<= 5", "met": True},
            "catchup_vs_xadd": {"value": 1.25, "target": ">= 1.0", "met": True},
            "write_seconds_to_90pct": {"value": 15.0, "target": "<= 20", "met": True},
            "read_seconds_to_90pct": {"value": 10.0, "target": "<= 20", "met": True},
        })

    def test_leaves_unjudged_what_the_run_cannot_tell(self):
        write_measurements(EXAMPLE, self.directory)
        options = EXAMPLE_OPTIONS[:-1] + [""]  # no baseline
        options[options.index("--stack-started") + 1] = "false"  # warm-up did not start cold

        _, run = self.write(options)

        self.assertIsNone(run["targets"]["cpu_per_write_vs_baseline"]["met"])
        self.assertIsNone(run["targets"]["write_seconds_to_90pct"]["met"])
        self.assertIsNone(run["targets"]["read_seconds_to_90pct"]["met"])

    def test_does_not_judge_the_time_to_90_percent_of_a_state_that_was_not_steady(self):
        measurements = json.loads(json.dumps(EXAMPLE))
        measurements["write"]["warmup"] = results.warmup(windows(1000.0, 3000.0, 2000.0), 5, 3000.0)
        write_measurements(measurements, self.directory)

        _, run = self.write(EXAMPLE_OPTIONS)

        self.assertEqual(run["targets"]["write_seconds_to_90pct"], {"value": 10.0, "target": "<= 20", "met": None})
        self.assertTrue(run["targets"]["read_seconds_to_90pct"]["met"])

    def test_gives_the_row_each_recorded_run_has_in_the_table(self):
        rows = table_rows()
        for name, _, run in [*recorded(current=True), *recorded(current=False)]:
            with self.subTest(run=name):
                in_table = next(row for row in rows if row.startswith("| " + run["timestamp"]))
                # Cells as the script writes them; a note added by hand after a figure (or the run) may follow.
                for cell, recorded_cell in zip(results.row(run).split("|"), in_table.split("|")):
                    self.assertTrue(recorded_cell.startswith(cell.rstrip()), f"{recorded_cell!r} vs {cell!r}")

    def test_adds_the_row_after_the_last_one_of_the_table_and_before_the_prose(self):
        table = os.path.join(self.directory, "RESULTS.md")
        with open(table, "w") as f:
            f.write("# Benchmark results\n\n" + results.TABLE_HEADER + "| old |\n\nProse.\n")

        results.append_row(table, "| new |\n")

        with open(table) as f:
            self.assertEqual(f.read(), "# Benchmark results\n\n" + results.TABLE_HEADER + "| old |\n| new |\n\nProse.\n")

    def test_starts_a_table_when_there_is_none(self):
        table = os.path.join(self.directory, "RESULTS.md")

        results.append_row(table, "| new |\n")

        with open(table) as f:
            self.assertEqual(f.read(), "# Benchmark results\n\n" + results.TABLE_HEADER + "| new |\n")

    def test_is_steady_when_two_windows_agree_and_the_jit_is_quiet(self):
        self.assertTrue(results.steady(windows(1000.0, 1900.0, 2000.0), 5))

    def test_is_not_steady_while_throughput_still_moves(self):
        self.assertFalse(results.steady(windows(1000.0, 1800.0, 2000.0), 5))

    def test_is_not_steady_while_the_jit_compiles(self):
        busy = windows(1900.0, 2000.0)
        busy[-1].update(jit_seconds=0.2, jit_compiles=40)  # 4 % of a 5 s window

        self.assertFalse(results.steady(busy, 5))

    def test_is_steady_when_the_jit_compiled_long_but_barely_anything(self):
        few = windows(1900.0, 2000.0)
        few[-1].update(jit_seconds=0.3, jit_compiles=3)  # one large method, say

        self.assertTrue(results.steady(few, 5))

    def test_is_never_steady_after_one_window(self):
        self.assertFalse(results.steady(windows(2000.0), 5))

    def test_lets_throughput_decide_when_jstat_cannot_tell(self):
        unknown = windows(1990.0, 2000.0)
        unknown[-1].update(jit_seconds=None, jit_compiles=None)

        self.assertTrue(results.steady(unknown, 5))

    def test_tells_when_throughput_first_reached_90_percent_of_steady_state(self):
        warm = results.warmup(windows(1000.0, 1700.0, 1850.0, 1950.0, 2000.0), 5, 2000.0)

        self.assertEqual((warm["seconds"], warm["steady"], warm["seconds_to_90pct"]), (25.0, True, 15.0))
        self.assertIsNone(results.warmup(windows(1000.0, 1100.0), 5, 2000.0)["seconds_to_90pct"])

    def test_reads_a_warm_up_window(self):
        self.assertEqual(results.window(WRK_OUTPUT, 100.0, 105.04, "16000 140.5", "16120 141.25"),
                         {"elapsed_s": 5.0, "rps": 3369.65, "jit_compiles": 120, "jit_seconds": 0.75})
        self.assertEqual(results.window("", 100.0, 105.0, "", "16120 141.25"),
                         {"elapsed_s": 5.0, "rps": 0.0, "jit_compiles": None, "jit_seconds": None})

    def test_says_when_the_warm_up_is_over(self):
        output, windows_file = os.path.join(self.directory, "window.txt"), os.path.join(self.directory, "windows")
        with open(output, "w") as f:
            f.write(WRK_OUTPUT)

        def window(cap):
            return subprocess.run(
                [sys.executable, SCRIPT, "window", output, "--windows", windows_file, "--window", "5", "--cap", cap,
                 "--started", str(time.time()), "--jit-before", "100 1.0", "--jit-after", "101 1.01"]).returncode

        self.assertEqual(window("300"), results.NOT_OVER)  # one window is never steady
        self.assertEqual(window("300"), 0)  # two alike, the JIT quiet: steady
        os.remove(windows_file)
        self.assertEqual(window("0"), 0)  # capped

    def test_keeps_the_stages_of_both_probes_and_names_the_slowest(self):
        _, run = self.example()
        fast = {"p50_ms": 0.4, "p99_ms": 1.2, "count": 10000}
        slow = {"p50_ms": 3.1, "p99_ms": 9.5, "count": 10000}
        run["stages"] = {"commit_to_xadd": fast, "xadd_to_projector": slow}
        run["stages_at_500"] = {"commit_to_xadd": slow, "xadd_to_projector": fast,
                                "listener_to_reader": {"p50_ms": None, "p99_ms": None, "count": 0}}
        out = os.path.join(self.directory, "run.json")
        table = os.path.join(self.directory, "RESULTS.md")

        done = subprocess.run(
            [sys.executable, SCRIPT, "write", "--measurements", self.directory, "--out", out, "--table", table,
             *taken_apart(run, self.directory)],
            check=True, capture_output=True, text=True)

        result = json.loads(done.stdout.splitlines()[-1])
        self.assertEqual(result["stages"], run["stages"])
        self.assertEqual(result["stages_at_500"], run["stages_at_500"])
        self.assertIn("slowest stage: commit_to_xadd, p50 3.1 ms, p99 9.5 ms over 10000 events", done.stderr)

    def test_reads_rate_latencies_errors_and_cpu_per_request_from_a_wrk_run(self):
        cpu = {"write-service": 12.95, "postgres": 14.43, "other": 2.43, "busy": 37.57, "wall": 20.1}

        self.assertEqual(results.wrk(WRK_OUTPUT, cpu), {
            "rps": 3369.65, "p50_ms": 8.87, "p99_ms": 24.29, "errors": 6,
            "cpu_us_per_request": {"write-service": 192, "postgres": 214, "other": 36, "busy": 557}})


if __name__ == "__main__":
    unittest.main()
