#!/usr/bin/env python3
"""The benchmark's figures as JSON, assembled here and nowhere else.

    bench/results.py wrk <wrk output> <cpu diff> [--windows FILE --window S]
                                                   prints one wrk run as {"rps", "p50_ms", "p99_ms", "errors",
                                                   "cpu_us_per_request", "warmup"} (the cpu diff from bench/cpu.py,
                                                   the warm-up from its windows)
    bench/results.py window <wrk output> --windows FILE --window S --cap S --started T --jit-before "N S"
                            --jit-after "N S"      appends one warm-up window to FILE as a line of JSON; exits 0
                                                   when the warm-up is over (steady, see steady(), or capped), 10
                                                   when it goes on
    bench/results.py warmup <windows> --window S   prints the warm-up in one line, for the log
    bench/results.py summary <measurement>         prints a wrk measurement in one line, for the log
    bench/results.py write --measurements DIR --out FILE --table FILE --timestamp ... (see --help)
                                                   writes the run's result file from the measurements run.sh left in
                                                   DIR (one JSON file each, see MEASUREMENTS, and the CPU of the 500
                                                   writes/s probe's window in probe-low.cpu if the run took it) and the
                                                   figures given as options, appends its row to the table
                                                   (bench/RESULTS.md) and prints the result as one line of JSON

run.sh hands every value over as a file or an argument, never as source code.
"""
import argparse
import json
import os
import re
import sys
import time

# The measurements run.sh writes into the measurements directory, as <name>.json.
MEASUREMENTS = ("trivial-write", "trivial-read", "write", "read", "peer", "peer-trivial", "probe", "probe-low", "load",
                "caught-up")
# The wrk measurements, each warmed until steady: their warm-ups go into the result under these names.
WARMED = ("write", "read", "peer", "peer-trivial", "trivial-write", "trivial-read")

# Since the steady-state harness (issue 18); runs before it have the columns of LEGACY_TABLE_HEADER.
TABLE_HEADER = (
    "| run | write req/s (p99 ms) | vs peer / trivial | peer req/s (vs its trivial) | CPU µs/write stack / peer"
    " | read req/s (p99 ms) | vs trivial | catch-up events/s (vs XADD) | commit→visible p50/p99 ms"
    " | warm-up s write/read/peer (90 % after) | RSS MB w/p/r | redis MB before→after |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
)
LEGACY_TABLE_HEADER = (
    "| run | write req/s (p99 ms) | vs trivial / pgbench insert | read req/s (p99 ms) | vs trivial / pgbench select"
    " | catch-up events/s | commit→visible p50/p99 ms | RSS MB w/p/r | redis MB before→after |\n"
    "|---|---|---|---|---|---|---|---|---|\n"
)

# Steady: the last two windows' throughputs within this fraction of the larger one, and the JIT quiet in the last.
STEADY_SPREAD = 0.05
# The JIT is quiet when it compiled for less than this fraction of the window (summed over the path's JVMs) or
# compiled at most JIT_QUIET_COMPILES methods.
JIT_QUIET_SHARE = 0.02
JIT_QUIET_COMPILES = 5
# The exit status of `window` while the warm-up goes on (any other but 0 is a failure).
NOT_OVER = 10
# Components of the stack (and of the peer) whose CPU counts as the cost of a write: not the load generator.
STACK = ("write-service", "projector-service", "read-service", "postgres", "redis")
PEER = ("naive-write", "postgres", "redis")


def requests_per_second(text):
    match = re.search(r"Requests/sec:\s+([\d.]+)", text)
    return float(match.group(1)) if match else 0.0


def window(text, started, now, jit_before, jit_after):
    """One warm-up window: when it ended (s since the warm-up started), its throughput and what the JIT did in it
    (methods compiled, seconds compiling; None when jstat could not tell)."""

    def totals(text):
        parts = text.split()
        return (int(parts[0]), float(parts[1])) if len(parts) == 2 else None

    before, after = totals(jit_before), totals(jit_after)
    jit = before is not None and after is not None
    return {"elapsed_s": round(now - started, 1), "rps": requests_per_second(text),
            "jit_compiles": after[0] - before[0] if jit else None,
            "jit_seconds": round(after[1] - before[1], 3) if jit else None}


def steady(windows, window_seconds):
    """Steady: the last two windows within STEADY_SPREAD of each other, and the JIT quiet in the last one (a JIT jstat
    could not read counts as quiet: throughput alone decides)."""
    if len(windows) < 2:
        return False
    a, b = windows[-2]["rps"], windows[-1]["rps"]
    if max(a, b) <= 0 or abs(a - b) / max(a, b) > STEADY_SPREAD:
        return False
    last = windows[-1]
    if last["jit_seconds"] is None:
        return True
    return last["jit_seconds"] < JIT_QUIET_SHARE * window_seconds or last["jit_compiles"] <= JIT_QUIET_COMPILES


def warmup(windows, window_seconds, rps=None):
    """A path's warm-up: how long it took, whether it ended steady, and (given the measured steady-state rps) after
    how many seconds of load a window first reached 90 % of it (None: none did during the warm-up)."""
    w = {"seconds": windows[-1]["elapsed_s"] if windows else 0.0, "steady": steady(windows, window_seconds),
         "windows": windows}
    if rps is not None:
        w["seconds_to_90pct"] = next((x["elapsed_s"] for x in windows if x["rps"] >= 0.9 * rps), None)
    return w


def wrk(text, cpu, warm=None):
    """One wrk run (its --latency output) with the CPU each component spent per request during it, and the warm-up
    (windows) before it."""

    def ms(value):
        number, unit = re.match(r"([\d.]+)(us|ms|s|m)", value).groups()
        return round(float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit], 3)

    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    per_request = {k: round(v * 1e6 / requests) for k, v in cpu.items() if k != "wall"} if requests else {}
    measured = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
                "p50_ms": ms(latency["50"]), "p99_ms": ms(latency["99"]), "errors": errors,
                "cpu_us_per_request": per_request}
    if warm is not None:
        windows, window_seconds = warm
        measured["warmup"] = warmup(windows, window_seconds, measured["rps"])
    return measured


def cpu_per_request(measured, components):
    """µs of CPU per request spent by the components (the stack's, or the peer's), None if none were measured."""
    spent = measured["cpu_us_per_request"]
    return sum(spent.get(c, 0) for c in components) if spent else None


def ratio(a, b, digits=3):
    return round(a / b, digits) if a is not None and b else None


def target(value, goal, at_most=False, judged=True):
    """A target of issue 18 as {value, target, met}; met is None when it cannot be judged in this run."""
    met = None if value is None or not judged else (value <= goal if at_most else value >= goal)
    return {"value": value, "target": ("<= " if at_most else ">= ") + str(goal), "met": met}


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
    # CPU per write and its read-your-writes read at 500 writes/s, by component: at that rate nothing is batched, and
    # the stages above queue for the two cores this takes.
    if "cpu" in probe_low and probe_low["writes"]:
        spent = {k: round(v * 1e6 / probe_low["writes"]) for k, v in probe_low["cpu"].items() if k != "wall"}
        r["probe_at_500_writes"] = probe_low["writes"]
        r["cpu_us_per_write_at_500"] = spent
        r["stack_cpu_us_per_write_at_500"] = sum(spent.get(c, 0) for c in STACK)
    r["write_vs_trivial"] = round(r["write_rps"] / r["ceiling_trivial_write_rps"], 3)
    r["write_vs_pg_insert"] = round(r["write_rps"] / r["ceiling_pg_insert_tps"], 3) if r["ceiling_pg_insert_tps"] else None
    r["read_vs_trivial"] = round(r["read_rps"] / r["ceiling_trivial_read_rps"], 3)
    r["read_vs_pg_select"] = round(r["read_rps"] / r["ceiling_pg_select_tps"], 3) if r["ceiling_pg_select_tps"] else None
    peer, peer_trivial = m["peer"], m["peer-trivial"]
    r.update({
        "peer_write_rps": peer["rps"], "peer_write_p50_ms": peer["p50_ms"], "peer_write_p99_ms": peer["p99_ms"],
        "peer_write_errors": peer["errors"], "ceiling_peer_trivial_rps": peer_trivial["rps"],
        "peer_cpu_us_per_request": peer["cpu_us_per_request"],
        "stack_started": a.stack_started, "warmup_window_s": a.window, "warmup_cap_s": a.warm_cap,
        "warmup": {name: m[name]["warmup"] for name in WARMED},
        "probe_warmup_s": a.probe_warm,
    })
    r["writes_vs_peer"] = ratio(r["write_rps"], r["peer_write_rps"])
    r["peer_vs_trivial"] = ratio(r["peer_write_rps"], r["ceiling_peer_trivial_rps"])
    r["write_cpu_us_per_write"] = cpu_per_request(writes, STACK)
    r["peer_cpu_us_per_write"] = cpu_per_request(peer, PEER)
    r["write_cpu_vs_peer"] = ratio(r["write_cpu_us_per_write"], r["peer_cpu_us_per_write"])
    r["baseline_cpu_us_per_write"] = a.baseline_cpu_us_per_write
    r["catchup_vs_xadd"] = ratio(r["catchup_eps"], r["ceiling_redis_xadd_rps"])
    # Time to 90 % of steady state counts from a cold start (only when this run started the stack) to a steady state
    # (only when the warm-up got there).
    cold_to_steady = {path: a.stack_started and r["warmup"][path]["steady"] for path in ("write", "read")}
    r["targets"] = {
        "writes_vs_peer": target(r["writes_vs_peer"], 1.5),
        "writes_vs_trivial": target(r["write_vs_trivial"], 0.2),
        "cpu_per_write_vs_baseline": target(ratio(r["write_cpu_us_per_write"], a.baseline_cpu_us_per_write), 0.5,
                                            at_most=True),
        "reads_vs_trivial": target(r["read_vs_trivial"], 0.85),
        "read_p99_ms": target(r["read_p99_ms"], 5, at_most=True),
        "catchup_vs_xadd": target(r["catchup_vs_xadd"], 1.0),
        "write_seconds_to_90pct": target(r["warmup"]["write"]["seconds_to_90pct"], 20, at_most=True,
                                         judged=cold_to_steady["write"]),
        "read_seconds_to_90pct": target(r["warmup"]["read"]["seconds_to_90pct"], 20, at_most=True,
                                        judged=cold_to_steady["read"]),
    }
    return r


def slowest(stages):
    """The stage with the highest p50 (then p99), as a line for the log; None without stages."""
    timed = {name: s for name, s in (stages or {}).items() if s.get("p50_ms") is not None}
    if not timed:
        return None
    name, s = max(timed.items(), key=lambda item: (item[1]["p50_ms"], item[1]["p99_ms"] or 0))
    return f"slowest stage: {name}, p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms over {s['count']} events"


def row(r):
    """The run's row in bench/RESULTS.md (in the table of its format)."""
    if "writes_vs_peer" not in r:
        return legacy_row(r)
    warm = r["warmup"]

    def warmed(name):
        w = warm[name]
        to_90 = "–" if w["seconds_to_90pct"] is None else f"{w['seconds_to_90pct']:.0f}"
        return f"{w['seconds']:.0f}{'' if w['steady'] else '!'} ({to_90})"

    return (f"| {r['timestamp']}{' quick' if r['quick'] else ''} | {r['write_rps']:.0f} ({r['write_p99_ms']}) "
            f"| {r['writes_vs_peer']} / {r['write_vs_trivial']} "
            f"| {r['peer_write_rps']:.0f} ({r['peer_vs_trivial']}) "
            f"| {r['write_cpu_us_per_write']} / {r['peer_cpu_us_per_write']} "
            f"| {r['read_rps']:.0f} ({r['read_p99_ms']}) | {r['read_vs_trivial']} "
            f"| {r['catchup_eps']} ({r['catchup_vs_xadd']}) "
            f"| {r['lag_p50_ms']:.1f} / {r['lag_p99_ms']:.1f} "
            f"| {warmed('write')} / {warmed('read')} / {warmed('peer')} "
            f"| {r['rss_mb']['write']}/{r['rss_mb']['projector']}/{r['rss_mb']['read']} "
            f"| {r['redis_used_memory_before'] / 1e6:.1f} → {r['redis_used_memory_after'] / 1e6:.1f} |\n")


def legacy_row(r):
    """A row of the runs before the steady-state harness (LEGACY_TABLE_HEADER)."""
    return (f"| {r['timestamp']}{' quick' if r['quick'] else ''} | {r['write_rps']:.0f} ({r['write_p99_ms']}) "
            f"| {r['write_vs_trivial']} / {r['write_vs_pg_insert']} | {r['read_rps']:.0f} ({r['read_p99_ms']}) "
            f"| {r['read_vs_trivial']} / {r['read_vs_pg_select']} | {r['catchup_eps']} "
            f"| {r['lag_p50_ms']:.1f} / {r['lag_p99_ms']:.1f} "
            f"| {r['rss_mb']['write']}/{r['rss_mb']['projector']}/{r['rss_mb']['read']} "
            f"| {r['redis_used_memory_before'] / 1e6:.1f} → {r['redis_used_memory_after'] / 1e6:.1f} |\n")


def append_row(path, line):
    """Inserts the row right after the table's last row, whatever prose follows the table; a file without the table
    gets it at its end."""
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


def optional_number(text):
    return float(text) if text else None


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
    parser.add_argument("--stack-started", type=boolean, required=True, help="true when the run started the stack")
    parser.add_argument("--window", type=int, required=True, help="seconds of each warm-up window")
    parser.add_argument("--warm-cap", type=int, required=True, help="most seconds of warm-up per path")
    parser.add_argument("--probe-warm", type=int, required=True, help="seconds of probe before it was measured")
    parser.add_argument("--baseline-cpu-us-per-write", type=optional_number, default=None,
                        help="the CPU per write (µs, whole stack) of the build to beat; empty: not judged")


def read_windows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def summary(m):
    """A wrk measurement in one line, for run.sh's log."""
    text = f"{m['rps']:.0f} req/s, p50 {m['p50_ms']} ms, p99 {m['p99_ms']} ms, {m['errors']} errors"
    if "warmup" in m:
        w = m["warmup"]
        text += (f"; warmed {w['seconds']:.0f} s ({'steady' if w['steady'] else 'NOT steady'}), "
                 f"90 % after {w['seconds_to_90pct']} s")
    return text


def targets_log(r):
    """The targets, one line each, for run.sh's log."""
    verdict = {True: "met", False: "NOT met", None: "not judged"}
    return "\n".join(f"target {name}: {t['value']} ({t['target']}): {verdict[t['met']]}"
                     for name, t in r["targets"].items())


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    wrk_command = commands.add_parser("wrk")
    wrk_command.add_argument("output")
    wrk_command.add_argument("cpu")
    wrk_command.add_argument("--windows", help="the warm-up's windows (one JSON line each)")
    wrk_command.add_argument("--window", type=int, default=5)
    window_command = commands.add_parser("window")
    window_command.add_argument("output")
    window_command.add_argument("--windows", required=True, help="the warm-up's windows so far (one JSON line each)")
    window_command.add_argument("--window", type=int, required=True, help="seconds of each window")
    window_command.add_argument("--cap", type=float, required=True, help="most seconds of warm-up")
    window_command.add_argument("--started", type=float, required=True, help="epoch seconds the warm-up started")
    window_command.add_argument("--jit-before", default="", help="'<methods compiled> <seconds compiling>'")
    window_command.add_argument("--jit-after", default="")
    warmup_command = commands.add_parser("warmup")
    warmup_command.add_argument("windows")
    warmup_command.add_argument("--window", type=int, required=True)
    commands.add_parser("summary").add_argument("measurement")
    write_arguments(commands.add_parser("write"))
    a = parser.parse_args(argv)
    if a.command == "wrk":
        with open(a.output) as text, open(a.cpu) as cpu:
            warm = (read_windows(a.windows), a.window) if a.windows else None
            print(json.dumps(wrk(text.read(), json.load(cpu), warm)))
        return
    if a.command == "window":
        with open(a.output) as text:
            latest = window(text.read(), a.started, time.time(), a.jit_before, a.jit_after)
        with open(a.windows, "a") as f:
            f.write(json.dumps(latest) + "\n")
        over = steady(read_windows(a.windows), a.window) or latest["elapsed_s"] >= a.cap
        sys.exit(0 if over else NOT_OVER)
    if a.command == "warmup":
        w = warmup(read_windows(a.windows), a.window)
        print(f"{w['seconds']:.0f} s, {'steady' if w['steady'] else 'NOT steady'}, windows (req/s, JIT s): "
              + ", ".join(f"{x['rps']:.0f} {x['jit_seconds']}" for x in w["windows"]))
        return
    if a.command == "summary":
        with open(a.measurement) as f:
            print(summary(json.load(f)))
        return
    measurements = {}
    for name in MEASUREMENTS:
        with open(os.path.join(a.measurements, name + ".json")) as f:
            measurements[name] = json.load(f)
    # The CPU the components spent during the 500 writes/s probe's window (bench/cpu.py diff; runs before it have none).
    probe_low_cpu = os.path.join(a.measurements, "probe-low.cpu")
    if os.path.exists(probe_low_cpu):
        with open(probe_low_cpu) as f:
            measurements["probe-low"]["cpu"] = json.load(f)
    r = result(measurements, a)
    with open(a.out, "w") as f:
        f.write(json.dumps(r, indent=2) + "\n")
    append_row(a.table, row(r))
    print(targets_log(r), file=sys.stderr)
    if slowest(r.get("stages_at_500")):
        print("commit to visible at 500 writes/s, " + slowest(r["stages_at_500"]), file=sys.stderr)
    print(json.dumps(r))


if __name__ == "__main__":
    main(sys.argv[1:])
