#!/usr/bin/env python3
"""Where the CPU went during a benchmark phase, by component.

    bench/cpu.py snapshot > before.json      (cumulative CPU seconds per component, machine-wide busy time)
    bench/cpu.py diff before.json after.json  (prints {"write-service": s, ..., "other": s, "busy": s, "wall": s})
    bench/cpu.py jit PID...                   (prints "<methods compiled> <seconds compiling>" summed over the JVMs,
                                               nothing when one cannot be read)

Components: the three services and the benchmark's peer, naive-write (java processes by jar name), postgres (every
backend and worker), redis-server. "other" is the machine's busy time not spent in those (the load generator, the
kernel's own threads, the rest). Processes that end between the two snapshots are not seen, which is why the load
generator is only in "other".

BENCH_PIDS=write-service:123,naive-write:456 names the processes of the java components: then only those count as
them, and any other process running one of the jars (another stack on the machine) counts as "other". bench/run.sh
sets it.
"""
import glob
import json
import os
import struct
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")
SERVICES = ("write-service", "projector-service", "read-service", "naive-write")


def named_pids():
    """BENCH_PIDS as {pid: component}."""
    pairs = (entry.split(":") for entry in os.environ.get("BENCH_PIDS", "").split(",") if ":" in entry)
    return {pid.strip(): name.strip() for name, pid in pairs}


def component(pid, named):
    if pid in named:
        return named[pid]
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return None
    text = " ".join(a.decode(errors="replace") for a in args)
    for service in SERVICES:
        if f"{service}-" in text and ".jar" in text:
            return None if named else service
    exe = os.path.basename(args[0].decode(errors="replace")) if args and args[0] else ""
    if exe.startswith("postgres") or text.startswith("postgres:"):
        return "postgres"
    if exe.startswith("redis-server"):
        return "redis"
    return None


def snapshot():
    seconds = {name: 0.0 for name in (*SERVICES, "postgres", "redis")}
    named = named_pids()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        name = component(pid, named)
        if name is None:
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[name] += (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
    with open("/proc/stat") as f:
        cpu = [int(v) for v in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]  # idle + iowait
    return {"at": time.time(), "busy": (sum(cpu[:8]) - idle) / TICKS, "components": seconds}


def diff(before, after):
    out = {name: round(after["components"][name] - before["components"][name], 2) for name in after["components"]}
    busy = after["busy"] - before["busy"]
    out["other"] = round(max(0.0, busy - sum(out.values())), 2)
    out["busy"] = round(busy, 2)
    out["wall"] = round(after["at"] - before["at"], 2)
    return out


def jvm_counters(pid):
    """The long counters a HotSpot JVM publishes in its hsperfdata file (what jstat reads), by name; None if none."""
    path = next(iter(glob.glob(f"/tmp/hsperfdata_*/{int(pid)}")), None)
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if data[:4] != b"\xca\xfe\xc0\xc0":
        return None
    order = "<" if data[4] == 1 else ">"
    entry_offset, entries = struct.unpack_from(order + "ii", data, 24)
    counters, at = {}, entry_offset
    for _ in range(entries):
        length, name_at, vector_length, kind, _, _, _, value_at = struct.unpack_from(order + "iiibbbbi", data, at)
        if kind == ord("J") and vector_length == 0:
            name = data[at + name_at:data.index(b"\0", at + name_at)].decode()
            counters[name] = struct.unpack_from(order + "q", data, at + value_at)[0]
        at += length
    return counters


def jit(pids):
    """Methods compiled and seconds compiling so far, summed over the JVMs: jstat -compiler's Compiled and Time, read
    from the same counters without starting a JVM per call (jstat took 1-2 s of a loaded machine's CPU each time)."""
    compiled, seconds = 0, 0.0
    for pid in pids:
        c = jvm_counters(pid)
        if not c or not {"sun.ci.totalCompiles", "java.ci.totalTime", "sun.os.hrt.frequency"} <= c.keys():
            return None
        compiled += c["sun.ci.totalCompiles"]
        seconds += c["java.ci.totalTime"] / c["sun.os.hrt.frequency"]
    return compiled, round(seconds, 3)


if __name__ == "__main__":
    if sys.argv[1:2] == ["snapshot"]:
        print(json.dumps(snapshot()))
    elif sys.argv[1:2] == ["diff"] and len(sys.argv) == 4:
        with open(sys.argv[2]) as a, open(sys.argv[3]) as b:
            print(json.dumps(diff(json.load(a), json.load(b))))
    elif sys.argv[1:2] == ["jit"] and len(sys.argv) > 2:
        totals = jit(sys.argv[2:])
        if totals is not None:
            print(*totals)
    else:
        sys.exit(__doc__)
