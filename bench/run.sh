#!/usr/bin/env bash
# The project's benchmark: the stack's figures side by side with ceilings measured in the same run.
#
#   bench/run.sh           full run (about 10 minutes)
#   bench/run.sh --quick   short smoke run (about 3 minutes)
#
# Starts the stack with ./stack.sh unless one answers already (and stops what it started), installs wrk,
# pgbench and redis-benchmark from Debian's packages if missing, writes bench/results/<timestamp>.json,
# appends a row to bench/RESULTS.md and prints one JSON object as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=false
[[ ${1:-} == --quick ]] && QUICK=true
# WARM: seconds of the same load before each measurement, so that the JIT has compiled the hot paths (with 2 s, the
# write service was still compiling through the measured run on two shared cores).
if $QUICK; then D=5; WARM=5; CATCHUP_EVENTS=100000; PROBE_SECONDS=5; else D=20; WARM=30; CATCHUP_EVENTS=1000000; PROBE_SECONDS=20; fi
KEYS=100000
WRITE=http://127.0.0.1:${WRITE_PORT:-8081}
PROJECTOR=http://127.0.0.1:${PROJECTOR_PORT:-8082}
READ=http://127.0.0.1:${READ_PORT:-8083}
PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
export PGHOST PGUSER
REDIS_HOST=${REDIS_HOST:-127.0.0.1} REDIS_PORT=${REDIS_PORT:-6379}
STREAM=${EVENT_STREAM_NAME:-cqrs:events}
RESULTS=bench/results
mkdir -p "$RESULTS"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$RESULTS/$STAMP.json"
WORK=$(mktemp -d)
STARTED_STACK=false

log() { printf '[bench] %s\n' "$*" >&2; }

cleanup() {
  if [[ -n ${PROJECTOR_PID:-} ]]; then kill -CONT "$PROJECTOR_PID" 2>/dev/null || true; fi
  psql -qX -d postgres -c 'drop database if exists cqrs_bench_ceiling' >/dev/null 2>&1 || true
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" del bench:ceiling:xadd >/dev/null 2>&1 || true
  if $STARTED_STACK; then ./stack.sh down >&2 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

need() { # need <command> <debian package>
  command -v "$1" >/dev/null && return
  log "installing $2"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need wrk wrk
need pgbench postgresql-client
need redis-benchmark redis-tools
need python3 python3

# The JDK the wrapper would pick, for the source-launched helper.
JAVA_HOME=${JAVA_HOME:-}
# shellcheck source=/dev/null
set +u; . .mvn/select-jdk.sh; set -u
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
# Compiled once here: the source launcher compiled it at every call, 2-3 s of CPU inside the window it measured.
"${JAVA_HOME:+$JAVA_HOME/bin/}javac" -d "$WORK/classes" bench/Bench.java
bench() { "$JAVA" -cp "$WORK/classes" Bench "$@" | tail -n 1; }

answers() { curl -sf -o /dev/null "$1/actuator/health/readiness"; }
if ! answers "$WRITE" || ! answers "$PROJECTOR" || ! answers "$READ"; then
  log "starting the stack with ./stack.sh up"
  ./stack.sh up >&2
  STARTED_STACK=true
fi

pid_of() { pgrep -f -- "$1-[0-9.]*(-SNAPSHOT)?\.jar" | head -n 1; }
PROJECTOR_PID=$(pid_of projector-service)
[[ -n $PROJECTOR_PID ]] || { log "cannot find the projector-service process"; exit 1; }

# run_wrk <name> <url> [args...]: runs wrk after a warm-up and prints {"rps":..,"p50_ms":..,"p99_ms":..,"errors":..,
# "cpu_us_per_request": {component: µs}}: the CPU each component spent per request during the measured run.
run_wrk() {
  local name=$1 url=$2
  shift 2
  wrk -t2 -c32 -d"${WARM}s" "$@" "$url" >/dev/null 2>&1 || true # warm-up: JIT and pools
  python3 bench/cpu.py snapshot >"$WORK/$name.cpu0"
  wrk -t2 -c32 -d"${D}s" --latency "$@" "$url" >"$WORK/$name.txt" 2>&1
  python3 bench/cpu.py snapshot >"$WORK/$name.cpu1"
  python3 bench/cpu.py diff "$WORK/$name.cpu0" "$WORK/$name.cpu1" >"$WORK/$name.cpu"
  python3 - "$WORK/$name.txt" "$WORK/$name.cpu" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
cpu = json.load(open(sys.argv[2]))
def ms(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s|m)", v).groups()
    return round(float(n) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit], 3)
lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
requests = int(re.search(r"(\d+) requests in", text).group(1))
per_request = {k: round(v * 1e6 / requests) for k, v in cpu.items() if k != "wall"} if requests else {}
print(json.dumps({"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
                  "p50_ms": ms(lat["50"]), "p99_ms": ms(lat["99"]), "errors": errors,
                  "cpu_us_per_request": per_request}))
PY
}

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
redis_memory() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }

# /actuator/info answers a constant {}: the HTTP stack of the service (Tomcat, filters, observation, JSON) and nothing
# else. (The liveness endpoint measured a third of it: the health machinery is heavier than a constant response.)
log "ceilings: a trivial endpoint of each service"
TRIVIAL_WRITE=$(run_wrk trivial-write "$WRITE/actuator/info")
TRIVIAL_READ=$(run_wrk trivial-read "$READ/actuator/info")

log "ceilings: pgbench single-row insert and primary-key select"
psql -qX -d postgres -c 'drop database if exists cqrs_bench_ceiling' -c 'create database cqrs_bench_ceiling' >/dev/null
psql -qX -d cqrs_bench_ceiling -c 'create table t (id bigserial primary key, v text)' \
  -c "insert into t (v) select 'value-' || g from generate_series(1, $KEYS) g" >/dev/null
echo "insert into t (v) values ('value');" >"$WORK/insert.sql"
printf '\\set id random(1, %d)\nselect v from t where id = :id;\n' "$KEYS" >"$WORK/select.sql"
pg_tps() { pgbench -n -c8 -j2 -T"$D" -f "$1" cqrs_bench_ceiling 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
PG_INSERT_TPS=$(pg_tps "$WORK/insert.sql")
PG_SELECT_TPS=$(pg_tps "$WORK/select.sql")

log "ceilings: redis-benchmark XADD"
REDIS_XADD_RPS=$(redis-benchmark -h "$REDIS_HOST" -p "$REDIS_PORT" -q -n $((D * 20000)) -c 32 \
  XADD bench:ceiling:xadd MAXLEN '~' 10000 '*' f v 2>/dev/null | tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -n 1)

log "writes: POST /write, 32 connections, ${D}s"
REDIS_BEFORE=$(redis_memory)
WRITES=$(KEYS=$KEYS run_wrk write "$WRITE" -s bench/write.lua)
REDIS_AFTER_WRITES=$(redis_memory)

log "reads: preloading $KEYS keys"
bench load --write "$WRITE" --events $KEYS --keys $KEYS --sequential true >/dev/null
bench caught-up --read "$READ" >/dev/null
log "reads: GET /read/{key} over $KEYS keys, 32 connections, ${D}s"
READS=$(KEYS=$KEYS run_wrk read "$READ" -s bench/read.lua)

log "commit to visible: 2000 writes/s for ${PROBE_SECONDS}s"
# The read-your-writes path (GET /read with min_version) is not warmed by anything before: warm it first.
bench probe --write "$WRITE" --read "$READ" --rate 1000 --seconds "$WARM" >/dev/null
PROBE=$(bench probe --write "$WRITE" --read "$READ" --rate 2000 --seconds "$PROBE_SECONDS")
log "commit to visible: 500 writes/s for ${PROBE_SECONDS}s (below saturation)"
PROBE_LOW=$(bench probe --write "$WRITE" --read "$READ" --rate 500 --seconds "$PROBE_SECONDS")

log "catch-up: projector paused, loading $CATCHUP_EVENTS events"
bench caught-up --read "$READ" >/dev/null
kill -STOP "$PROJECTOR_PID"
LOAD=$(bench load --write "$WRITE" --events "$CATCHUP_EVENTS" --keys $KEYS)
log "catch-up: backlog loaded ($(field "$LOAD" events_per_second) events/s through /write/batch), projector resumed"
kill -CONT "$PROJECTOR_PID"
CAUGHT_UP=$(bench caught-up --read "$READ")
PROJECTOR_PID=""
# The projector's janitor trims what every group acknowledged every 10 s: memory is judged after one trim.
for _ in $(seq 30); do
  (($(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" xlen "$STREAM") < 1000)) && break
  sleep 1
done

rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$(pid_of "$1")/status"; }
HEALTHY=true
for service in "$WRITE" "$PROJECTOR" "$READ"; do answers "$service" || HEALTHY=false; done
REDIS_AFTER=$(redis_memory)
STREAM_LENGTH=$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" xlen "$STREAM")

python3 - "$OUT" <<PY
import json, sys
writes, reads, probe = json.loads('''$WRITES'''), json.loads('''$READS'''), json.loads('''$PROBE''')
probe_low = json.loads('''$PROBE_LOW''')
trivial_write, trivial_read = json.loads('''$TRIVIAL_WRITE'''), json.loads('''$TRIVIAL_READ''')
load, caught = json.loads('''$LOAD'''), json.loads('''$CAUGHT_UP''')
r = {
  "timestamp": "$STAMP", "quick": "$QUICK" == "true", "duration_s": $D,
  "write_rps": writes["rps"], "write_p50_ms": writes["p50_ms"], "write_p99_ms": writes["p99_ms"],
  "write_errors": writes["errors"],
  "read_rps": reads["rps"], "read_p50_ms": reads["p50_ms"], "read_p99_ms": reads["p99_ms"],
  "read_errors": reads["errors"],
  "catchup_events": $CATCHUP_EVENTS, "catchup_seconds": caught["seconds"],
  "catchup_eps": round($CATCHUP_EVENTS / caught["seconds"]) if caught["seconds"] > 0 else None,
  "batch_load_eps": load["events_per_second"],
  "lag_p50_ms": probe["lag_p50_ms"], "lag_p99_ms": probe["lag_p99_ms"], "lag_max_ms": probe["lag_max_ms"],
  "probe_rate": probe["achieved_rate"], "probe_failures": probe["failures"],
  "probe_failure_reasons": probe["failure_reasons"],
  "lag_at_500_p50_ms": probe_low["lag_p50_ms"], "lag_at_500_p99_ms": probe_low["lag_p99_ms"],
  "lag_at_500_max_ms": probe_low["lag_max_ms"], "probe_at_500_rate": probe_low["achieved_rate"],
  "ceiling_trivial_write_rps": trivial_write["rps"], "ceiling_trivial_read_rps": trivial_read["rps"],
  "ceiling_pg_insert_tps": float("$PG_INSERT_TPS" or 0), "ceiling_pg_select_tps": float("$PG_SELECT_TPS" or 0),
  "ceiling_redis_xadd_rps": float("$REDIS_XADD_RPS" or 0),
  "rss_mb": {"write": $(rss_mb write-service), "projector": $(rss_mb projector-service), "read": $(rss_mb read-service)},
  "healthy_after": "$HEALTHY" == "true",
  "redis_used_memory_before": $REDIS_BEFORE, "redis_used_memory_after_writes": $REDIS_AFTER_WRITES,
  "redis_used_memory_after": $REDIS_AFTER,
  "write_cpu_us_per_request": writes["cpu_us_per_request"], "read_cpu_us_per_request": reads["cpu_us_per_request"],
  "stream_length_after": $STREAM_LENGTH,
}
r["write_vs_trivial"] = round(r["write_rps"] / r["ceiling_trivial_write_rps"], 3)
r["write_vs_pg_insert"] = round(r["write_rps"] / r["ceiling_pg_insert_tps"], 3) if r["ceiling_pg_insert_tps"] else None
r["read_vs_trivial"] = round(r["read_rps"] / r["ceiling_trivial_read_rps"], 3)
r["read_vs_pg_select"] = round(r["read_rps"] / r["ceiling_pg_select_tps"], 3) if r["ceiling_pg_select_tps"] else None
open(sys.argv[1], "w").write(json.dumps(r, indent=2) + "\n")
PY

python3 - "$OUT" bench/RESULTS.md <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
path = sys.argv[2]
header = ("| run | write req/s (p99 ms) | vs trivial / pgbench insert | read req/s (p99 ms) | vs trivial / pgbench select"
          " | catch-up events/s | commit→visible p50/p99 ms | RSS MB w/p/r | redis MB before→after |\n"
          "|---|---|---|---|---|---|---|---|---|\n")
row = (f"| {r['timestamp']}{' quick' if r['quick'] else ''} | {r['write_rps']:.0f} ({r['write_p99_ms']}) "
       f"| {r['write_vs_trivial']} / {r['write_vs_pg_insert']} | {r['read_rps']:.0f} ({r['read_p99_ms']}) "
       f"| {r['read_vs_trivial']} / {r['read_vs_pg_select']} | {r['catchup_eps']} "
       f"| {r['lag_p50_ms']:.1f} / {r['lag_p99_ms']:.1f} | {r['rss_mb']['write']}/{r['rss_mb']['projector']}/{r['rss_mb']['read']} "
       f"| {r['redis_used_memory_before'] / 1e6:.1f} → {r['redis_used_memory_after'] / 1e6:.1f} |\n")
first = header.splitlines(keepends=True)[0]
lines = open(path).read().splitlines(keepends=True) if os.path.exists(path) else ["# Benchmark results\n"]
if first not in lines:
    lines += ["\n", *header.splitlines(keepends=True)]
# The row goes right after the table's last row, whatever prose follows the table.
end = lines.index(first) + 1
while end < len(lines) and lines[end].startswith("|"):
    end += 1
lines.insert(end, row)
open(path, "w").write("".join(lines))
PY

log "results in $OUT and bench/RESULTS.md"
python3 -c "import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))" "$OUT"
