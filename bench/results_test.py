#!/usr/bin/env python3
"""Checks bench/results.py against the runs recorded in bench/results/ and bench/RESULTS.md.

    python3 bench/results_test.py

Each recorded run (of the current format) is taken apart into the measurement files and options run.sh hands to
results.py; putting them together again must give the same file, byte for byte, and the same row in the table.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
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


def recorded_runs():
    directory = os.path.join(BENCH, "results")
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name)) as f:
            text = f.read()
        run = json.loads(text)
        if "probe_failure_reasons" in run:  # the format results.py writes; older runs lack fields
            yield name, text, run


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
        "probe": {"lag_p50_ms": run["lag_p50_ms"], "lag_p99_ms": run["lag_p99_ms"], "lag_max_ms": run["lag_max_ms"],
                  "achieved_rate": run["probe_rate"], "failures": run["probe_failures"],
                  "failure_reasons": run["probe_failure_reasons"]},
        "probe-low": {"lag_p50_ms": run["lag_at_500_p50_ms"], "lag_p99_ms": run["lag_at_500_p99_ms"],
                      "lag_max_ms": run["lag_at_500_max_ms"], "achieved_rate": run["probe_at_500_rate"],
                      "failures": 0, "failure_reasons": {}},
        "load": {"events": run["catchup_events"], "events_per_second": run["batch_load_eps"]},
        "caught-up": {"seconds": run["catchup_seconds"]},
    }
    if "stages_at_500" in run:
        measurements["probe"]["stages"] = run["stages"]
        measurements["probe-low"]["stages"] = run["stages_at_500"]
    for name, measurement in measurements.items():
        with open(os.path.join(directory, name + ".json"), "w") as f:
            f.write(json.dumps(measurement) + "\n")
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
    ]


def table_rows():
    with open(os.path.join(BENCH, "RESULTS.md")) as f:
        return [line for line in f if line.startswith("| 2")]


class ResultsTest(unittest.TestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.directory)

    def test_puts_every_recorded_run_together_again_as_it_was(self):
        runs = list(recorded_runs())
        self.assertTrue(runs)
        for name, text, run in runs:
            with self.subTest(run=name):
                out = os.path.join(self.directory, name)
                table = os.path.join(self.directory, "RESULTS.md")
                printed = subprocess.run(
                    [sys.executable, SCRIPT, "write", "--measurements", self.directory, "--out", out,
                     "--table", table, *taken_apart(run, self.directory)],
                    check=True, capture_output=True, text=True).stdout
                with open(out) as f:
                    self.assertEqual(f.read(), text)
                self.assertEqual(json.loads(printed.splitlines()[-1]), run)

    def test_gives_the_row_each_recorded_run_has_in_the_table(self):
        rows = table_rows()
        for name, _, run in recorded_runs():
            with self.subTest(run=name):
                recorded = next(row for row in rows if row.startswith("| " + run["timestamp"]))
                # Cells as the script writes them; a note added by hand after a figure (or the run) may follow.
                for cell, recorded_cell in zip(results.row(run).split("|"), recorded.split("|")):
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

    def test_keeps_the_stages_of_both_probes_and_names_the_slowest(self):
        run = dict(next(run for _, _, run in recorded_runs()))
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
