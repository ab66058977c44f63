#!/usr/bin/env bash
# Start-up with and without the AOT cache (./stack.sh train makes it): for each service, the time from its process's
# start to /readyz answering; for write-service and read-service, the time from start until the throughput reaches
# 90 % of steady state.
#
#   bench/startup.sh [runs]      runs per case (default 1); prints one JSON object, also kept in bench/results/
#   TARGETS="write-service" WINDOWS=60 bench/startup.sh    some services only, shorter
#
# A case is (cache: aot | plain) x (service). The stack runs (./stack.sh up starts it if needed); each run stops the one
# service and starts it again with ./stack.sh up (STACK_AOT=auto or off), which starts only what is not running: a
# restart of one service, as in a deploy. For write-service and read-service, from the moment the service answers
# /readyz the benchmark's load runs on it (bench/write.lua or read.lua, wrk -t2 -c32) in back-to-back windows of 2 s,
# WINDOWS of them (default 90). Steady state for a service is the highest, over all its runs, of the median of its
# last 10 windows; a run's time to 90 % is from its process's start to the end of its first window at 90 % of that or
# more. Uses the stack's settings (ports, STACK_RUN_DIR...) from the environment and keeps the rate limit off; the
# read load asks for keys bench-1..100000, which the training run wrote.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${1:-1}
WINDOWS=${WINDOWS:-90}
RUN_DIR=${STACK_RUN_DIR:-.run}
export CQRS_RATE_LIMIT_PER_SECOND=0 KEYS=${KEYS:-100000}
WRITE_KEY=$(cat "$RUN_DIR/api-keys/write") READ_KEY=$(cat "$RUN_DIR/api-keys/read")
export WRITE_KEY READ_KEY
declare -A PORT=([write-service]=${WRITE_PORT:-8081} [projector-service]=${PROJECTOR_PORT:-8082}
  [read-service]=${READ_PORT:-8083})
declare -A SCRIPT=([write-service]=bench/write.lua [read-service]=bench/read.lua)
WORK=$(mktemp -d)
# The raw measurements stay in $WORK when the script fails, for a look.
trap 'jobs -p | xargs -r kill 2>/dev/null || true' EXIT
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
log() { printf '[startup] %s\n' "$*" >&2; }
now() { date +%s.%N; }

started_at() { # the epoch second a process started, from /proc (jiffies since boot)
  python3 -c 'import os,sys
boot = next(float(l.split()[1]) for l in open("/proc/stat") if l.startswith("btime"))
ticks = int(open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")", 1)[1].split()[19])
print(boot + ticks / os.sysconf("SC_CLK_TCK"))' "$1"
}

watch_ready() { # watch_ready <service> <file>: appends "<service> <process start> <first /readyz answer>" to file
  local service=$1 pid
  until [[ -s $RUN_DIR/$service.pid ]]; do sleep 0.05; done
  pid=$(<"$RUN_DIR/$service.pid")
  local start
  start=$(started_at "$pid")
  # A JVM just started may take seconds for its first answer: wait for it rather than give up after 1 s.
  until curl -sf -o /dev/null --max-time 10 "http://127.0.0.1:${PORT[$service]}/readyz"; do sleep 0.1; done
  printf '%s %s %s\n' "$service" "$start" "$(now)" >>"$2"
}

run_once() { # run_once <aot|plain> <service> <n>: writes $WORK/<aot|plain>-<service>-<n>.{ready,windows}
  local mode=$1 target=$2 name=$1-$2-$3 pid
  : >"$WORK/$name.ready"
  : >"$WORK/$name.windows"
  pid=$(<"$RUN_DIR/$target.pid")
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  rm -f "$RUN_DIR/$target.pid"
  STACK_AOT=$([[ $mode == aot ]] && echo auto || echo off) ./stack.sh up >"$WORK/$name.up" 2>&1 &
  local up=$!
  watch_ready "$target" "$WORK/$name.ready" &
  until [[ -s $WORK/$name.ready ]]; do
    kill -0 "$up" 2>/dev/null || [[ -s $WORK/$name.ready ]] || { cat "$WORK/$name.up" >&2; log "./stack.sh up failed (raw data: $WORK)"; exit 1; }
    sleep 0.05
  done
  local i begin rps count=0
  [[ -z ${SCRIPT[$target]:-} ]] || count=$WINDOWS # the projector has no API to load: its readiness only
  for ((i = 0; i < count; i++)); do
    begin=$(now)
    rps=$(wrk -t2 -c32 -d2s -s "${SCRIPT[$target]}" "http://127.0.0.1:${PORT[$target]}" 2>/dev/null |
      sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
    printf '%s %s %s\n' "$begin" "$(now)" "${rps:-0}" >>"$WORK/$name.windows"
  done
  wait "$up" || { cat "$WORK/$name.up" >&2; log "./stack.sh up failed (raw data: $WORK)"; exit 1; }
  wait # the readiness watcher
  grep -h "^\[stack\]   " "$WORK/$name.up" | sed 's/^/    /' >&2
  log "$name: ready $(awk '{printf "%s %.1fs  ", $1, $3 - $2}' "$WORK/$name.ready")"
}

STARTED_STACK=false
for service in write-service projector-service read-service; do
  [[ -s $RUN_DIR/$service.pid ]] && curl -sf -o /dev/null "http://127.0.0.1:${PORT[$service]}/readyz" && continue
  log "starting the stack with ./stack.sh up"
  ./stack.sh up >/dev/null
  STARTED_STACK=true
  break
done
for ((n = 1; n <= RUNS; n++)); do
  for target in ${TARGETS:-write-service projector-service read-service}; do
    for mode in plain aot; do
      log "run $n: $target, $mode"
      run_once "$mode" "$target" "$n"
    done
  done
done
! $STARTED_STACK || ./stack.sh down >/dev/null

mkdir -p bench/results
OUT=bench/results/startup-$(date -u +%Y%m%dT%H%M%SZ).json
python3 - "$WORK" "$OUT" <<'PY'
import glob, json, os, statistics, sys
work, out = sys.argv[1], sys.argv[2]
runs = []
for path in sorted(glob.glob(f"{work}/*.ready")):
    name = os.path.basename(path)[:-len(".ready")]
    mode, rest = name.split("-", 1)
    target, n = rest.rsplit("-", 1)
    starts, ready = {}, {}
    for line in open(path):
        service, start, answered = line.split()
        starts[service], ready[service] = float(start), round(float(answered) - float(start), 2)
    windows = [tuple(map(float, line.split())) for line in open(f"{work}/{name}.windows")]
    runs.append({"mode": mode, "target": target, "run": int(n), "ready_s": ready,
                 "windows": [[round(b - starts[target], 2), round(e - starts[target], 2), r] for b, e, r in windows]})
steady = {}
readiness = [run for run in runs if not run["windows"]]
runs = [run for run in runs if run["windows"]]
for run in runs:
    tail = statistics.median(w[2] for w in run["windows"][-10:])
    steady[run["target"]] = max(steady.get(run["target"], 0), tail)
for run in runs:
    goal = 0.9 * steady[run["target"]]
    first = next((w for w in run["windows"] if w[2] >= goal), None)
    run["time_to_90_percent_s"] = first[1] if first else None
    run["steady_tail_rps"] = statistics.median(w[2] for w in run["windows"][-10:])
summary = {}
for run in readiness + runs:
    case = summary.setdefault(run["mode"], {})
    for service, seconds in run["ready_s"].items():
        case.setdefault(service, {}).setdefault("ready_s", []).append(seconds)
for run in runs:
    summary[run["mode"]][run["target"]].setdefault("time_to_90_percent_s", []).append(run["time_to_90_percent_s"])
result = {"steady_rps": {k: round(v) for k, v in steady.items()}, "summary": summary, "runs": readiness + runs}
with open(out, "w") as f:
    json.dump(result, f, indent=1)
print(json.dumps({"out": out, "steady_rps": result["steady_rps"], "summary": summary}))
PY
rm -rf "$WORK"
