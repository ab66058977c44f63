#!/usr/bin/env python3
"""The benchmark's figures as JSON, assembled here and nowhere else.

    bench/results.py wrk <wrk output> <cpu diff>   prints one wrk run as {"rps", "p50_ms", "p99_ms", "errors",
                                                   "cpu_us_per_request"} (the cpu diff from bench/cpu.py)
    bench/results.py write --measurements DIR --out FILE --table FILE --timestamp ... (see --help)
                                                   writes the run's result file from the measurements run.sh left in
                                                   DIR (one JSON file each, see MEASUREMENTS) and the figures given as
                                                   options, appends its row to the table (bench/RESULTS.md) and
                                                   prints the result as one line of JSON

run.sh hands every value over as a file or an argument, never as source code.
"""
import argparse
import json
import os
import re
import sys

# The measurements run.sh writes into the measurements directory, as <name>.json.
MEASUREMENTS = ("trivial-write", "trivial-read", "write", "read", "probe", "probe-low", "load", "caught-up")

TABLE_HEADER = (
    "| run | write req/s (p99 ms) | vs trivial / pgbench insert | read req/s (p99 ms) | vs trivial / pgbench select"
    " | catch-up events/s | commit→visible p50/p99 ms | RSS MB w/p/r | redis MB before→after |\n"
    "|---|---|---|---|---|---|---|---|---|\n"
)


def wrk(text, cpu):
    """One wrk run (its --latency output) with the CPU each component spent per request during it."""

    def ms(value):
        number, unit = re.match(r"([\d.]+)(us|ms|s|m)", value).groups()
        return round(float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit], 3)

    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    per_request = {k: round(v * 1e6 / requests) for k, v in cpu.items() if k != "wall"} if requests else {}
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
            "p50_ms": ms(latency["50"]), "p99_ms": ms(latency["99"]), "errors": errors,
            "cpu_us_per_request": per_request}


def result(m, a):
    """The run's result: measurements m by name, figures a as parsed from the command line."""
    writes, reads, probe, probe_low = m["write"], m["read"], m["probe"], m["probe-low"]
    trivial_write, trivial_read, load, caught = m["trivial-write"], m["trivial-read"], m["load"], m["caught-up"]
    r = {
        "timestamp": a.timestamp, "quick": a.quick, "duration_s": a.duration,
        "write_rps": writes["rps"], "write_p50_ms": writes["p50_ms"], "write_p99_ms": writes["p99_ms"],
        "write_errors": writes["errors"],
        "read_rps": reads["rps"], "read_p50_ms": reads["p50_ms"], "read_p99_ms": reads["p99_ms"],
        "read_errors": reads["errors"],
        "catchup_events": a.catchup_events, "catchup_seconds": caught["seconds"],
        "catchup_eps": round(a.catchup_events / caught["seconds"]) if caught["seconds"] > 0 else None,
        "batch_load_eps": load["events_per_second"],
        "lag_p50_ms": probe["lag_p50_ms"], "lag_p99_ms": probe["lag_p99_ms"], "lag_max_ms": probe["lag_max_ms"],
        "probe_rate": probe["achieved_rate"], "probe_failures": probe["failures"],
        "probe_failure_reasons": probe["failure_reasons"],
        "lag_at_500_p50_ms": probe_low["lag_p50_ms"], "lag_at_500_p99_ms": probe_low["lag_p99_ms"],
        "lag_at_500_max_ms": probe_low["lag_max_ms"], "probe_at_500_rate": probe_low["achieved_rate"],
        "ceiling_trivial_write_rps": trivial_write["rps"], "ceiling_trivial_read_rps": trivial_read["rps"],
        "ceiling_pg_insert_tps": a.pg_insert_tps, "ceiling_pg_select_tps": a.pg_select_tps,
        "ceiling_redis_xadd_rps": a.redis_xadd_rps,
        "rss_mb": {"write": a.rss_write, "projector": a.rss_projector, "read": a.rss_read},
        "healthy_after": a.healthy,
        "redis_used_memory_before": a.redis_before, "redis_used_memory_after_writes": a.redis_after_writes,
        "redis_used_memory_after": a.redis_after,
        "write_cpu_us_per_request": writes["cpu_us_per_request"], "read_cpu_us_per_request": reads["cpu_us_per_request"],
        "stream_length_after": a.stream_length,
    }
    # The stages of commit to visible as the services time them (runs before them have none).
    if "stages" in probe_low:
        r["stages"] = probe.get("stages", {})
        r["stages_at_500"] = probe_low["stages"]
    r["write_vs_trivial"] = round(r["write_rps"] / r["ceiling_trivial_write_rps"], 3)
    r["write_vs_pg_insert"] = round(r["write_rps"] / r["ceiling_pg_insert_tps"], 3) if r["ceiling_pg_insert_tps"] else None
    r["read_vs_trivial"] = round(r["read_rps"] / r["ceiling_trivial_read_rps"], 3)
    r["read_vs_pg_select"] = round(r["read_rps"] / r["ceiling_pg_select_tps"], 3) if r["ceiling_pg_select_tps"] else None
    return r


def slowest(stages):
    """The stage with the highest p50 (then p99), as a line for the log; None without stages."""
    timed = {name: s for name, s in (stages or {}).items() if s.get("p50_ms") is not None}
    if not timed:
        return None
    name, s = max(timed.items(), key=lambda item: (item[1]["p50_ms"], item[1]["p99_ms"] or 0))
    return f"slowest stage: {name}, p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms over {s['count']} events"


def row(r):
    """The run's row in bench/RESULTS.md."""
    return (f"| {r['timestamp']}{' quick' if r['quick'] else ''} | {r['write_rps']:.0f} ({r['write_p99_ms']}) "
            f"| {r['write_vs_trivial']} / {r['write_vs_pg_insert']} | {r['read_rps']:.0f} ({r['read_p99_ms']}) "
            f"| {r['read_vs_trivial']} / {r['read_vs_pg_select']} | {r['catchup_eps']} "
            f"| {r['lag_p50_ms']:.1f} / {r['lag_p99_ms']:.1f} "
            f"| {r['rss_mb']['write']}/{r['rss_mb']['projector']}/{r['rss_mb']['read']} "
            f"| {r['redis_used_memory_before'] / 1e6:.1f} → {r['redis_used_memory_after'] / 1e6:.1f} |\n")


def append_row(path, line):
    """Inserts the row right after the table's last row, whatever prose follows the table."""
    first = TABLE_HEADER.splitlines(keepends=True)[0]
    lines = ["# Benchmark results\n"]
    if os.path.exists(path):
        with open(path) as f:
            lines = f.read().splitlines(keepends=True)
    if first not in lines:
        lines += ["\n", *TABLE_HEADER.splitlines(keepends=True)]
    end = lines.index(first) + 1
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    lines.insert(end, line)
    with open(path, "w") as f:
        f.write("".join(lines))


def number(text):
    """A ceiling as the tool printed it; a tool that printed nothing measured 0."""
    return float(text or 0)


def boolean(text):
    return text == "true"


def write_arguments(parser):
    parser.add_argument("--measurements", required=True, help="directory with " + ", ".join(f"{m}.json" for m in MEASUREMENTS))
    parser.add_argument("--out", required=True, help="the result file to write")
    parser.add_argument("--table", required=True, help="the Markdown table to add the run's row to")
    parser.add_argument("--timestamp", required=True)
    parser.add_argument("--quick", type=boolean, required=True, help="true or false")
    parser.add_argument("--duration", type=int, required=True, help="seconds of each measured run")
    parser.add_argument("--catchup-events", type=int, required=True)
    parser.add_argument("--pg-insert-tps", type=number, required=True)
    parser.add_argument("--pg-select-tps", type=number, required=True)
    parser.add_argument("--redis-xadd-rps", type=number, required=True)
    parser.add_argument("--rss-write", type=int, required=True, help="MB")
    parser.add_argument("--rss-projector", type=int, required=True, help="MB")
    parser.add_argument("--rss-read", type=int, required=True, help="MB")
    parser.add_argument("--healthy", type=boolean, required=True, help="true or false")
    parser.add_argument("--redis-before", type=int, required=True, help="Redis used_memory, bytes")
    parser.add_argument("--redis-after-writes", type=int, required=True)
    parser.add_argument("--redis-after", type=int, required=True)
    parser.add_argument("--stream-length", type=int, required=True)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    wrk_command = commands.add_parser("wrk")
    wrk_command.add_argument("output")
    wrk_command.add_argument("cpu")
    write_arguments(commands.add_parser("write"))
    a = parser.parse_args(argv)
    if a.command == "wrk":
        with open(a.output) as text, open(a.cpu) as cpu:
            print(json.dumps(wrk(text.read(), json.load(cpu))))
        return
    measurements = {}
    for name in MEASUREMENTS:
        with open(os.path.join(a.measurements, name + ".json")) as f:
            measurements[name] = json.load(f)
    r = result(measurements, a)
    with open(a.out, "w") as f:
        f.write(json.dumps(r, indent=2) + "\n")
    append_row(a.table, row(r))
    if slowest(r.get("stages_at_500")):
        print("commit to visible at 500 writes/s, " + slowest(r["stages_at_500"]), file=sys.stderr)
    print(json.dumps(r))


if __name__ == "__main__":
    main(sys.argv[1:])
