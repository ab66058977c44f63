#!/usr/bin/env python3
"""Where the CPU went during a benchmark phase, by component.

    bench/cpu.py snapshot > before.json      (cumulative CPU seconds per component, machine-wide busy time)
    bench/cpu.py diff before.json after.json  (prints {"write-service": s, ..., "other": s, "busy": s, "wall": s})

Components: the three services (java processes by jar name), postgres (every backend and worker), redis-server.
"other" is the machine's busy time not spent in those (the load generator, the kernel's own threads, the rest).
Processes that end between the two snapshots are not seen, which is why the load generator is only in "other".
"""
import json
import os
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")
SERVICES = ("write-service", "projector-service", "read-service")


def component(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return None
    text = " ".join(a.decode(errors="replace") for a in args)
    for service in SERVICES:
        if f"{service}-" in text and ".jar" in text:
            return service
    exe = os.path.basename(args[0].decode(errors="replace")) if args and args[0] else ""
    if exe.startswith("postgres") or text.startswith("postgres:"):
        return "postgres"
    if exe.startswith("redis-server"):
        return "redis"
    return None


def snapshot():
    seconds = {name: 0.0 for name in (*SERVICES, "postgres", "redis")}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        name = component(pid)
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


if __name__ == "__main__":
    if sys.argv[1:2] == ["snapshot"]:
        print(json.dumps(snapshot()))
    elif sys.argv[1:2] == ["diff"] and len(sys.argv) == 4:
        with open(sys.argv[2]) as a, open(sys.argv[3]) as b:
            print(json.dumps(diff(json.load(a), json.load(b))))
    else:
        sys.exit(__doc__)
