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
WRITE_MANAGEMENT=http://127.0.0.1:${WRITE_MANAGEMENT_PORT:-9081}
PROJECTOR_MANAGEMENT=http://127.0.0.1:${PROJECTOR_MANAGEMENT_PORT:-9082}
READ_MANAGEMENT=http://127.0.0.1:${READ_MANAGEMENT_PORT:-9083}
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

answers() { curl -sf -o /dev/null "$1/readyz"; }
if ! answers "$WRITE" || ! answers "$PROJECTOR" || ! answers "$READ"; then
  log "starting the stack with ./stack.sh up, without the per-key rate limit (the benchmark is one heavy client)"
  CQRS_RATE_LIMIT_PER_SECOND=0 ./stack.sh up >&2
  STARTED_STACK=true
fi
# The API keys: those ./stack.sh generated, unless BENCH_WRITE_KEY / BENCH_READ_KEY name others (a stack started with
# CQRS_API_KEYS of your own). A stack not started by this script keeps its own rate limit: 429s count as errors.
WRITE_KEY=${BENCH_WRITE_KEY:-$(cat .run/api-keys/write 2>/dev/null || true)}
READ_KEY=${BENCH_READ_KEY:-$(cat .run/api-keys/read 2>/dev/null || true)}
[[ -n $WRITE_KEY && -n $READ_KEY ]] || { log "no API keys: set BENCH_WRITE_KEY and BENCH_READ_KEY"; exit 1; }
export WRITE_KEY READ_KEY

pid_of() { pgrep -f -- "$1-[0-9.]*(-SNAPSHOT)?\.jar" | head -n 1; }
PROJECTOR_PID=$(pid_of projector-service)
[[ -n $PROJECTOR_PID ]] || { log "cannot find the projector-service process"; exit 1; }

# Every measurement goes to $WORK/<name>.json, which bench/results.py puts together into the run's result.
# run_wrk <name> <url> [args...]: runs wrk after a warm-up and writes $WORK/<name>.json: {"rps":..,"p50_ms":..,
# "p99_ms":..,"errors":.., "cpu_us_per_request": {component: µs}}, the CPU each component spent per request during the
# measured run.
run_wrk() {
  local name=$1 url=$2
  shift 2
  wrk -t2 -c32 -d"${WARM}s" "$@" "$url" >/dev/null 2>&1 || true # warm-up: JIT and pools
  python3 bench/cpu.py snapshot >"$WORK/$name.cpu0"
  wrk -t2 -c32 -d"${D}s" --latency "$@" "$url" >"$WORK/$name.txt" 2>&1
  python3 bench/cpu.py snapshot >"$WORK/$name.cpu1"
  python3 bench/cpu.py diff "$WORK/$name.cpu0" "$WORK/$name.cpu1" >"$WORK/$name.cpu"
  python3 bench/results.py wrk "$WORK/$name.txt" "$WORK/$name.cpu" >"$WORK/$name.json"
}

field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
redis_memory() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }

# /actuator/info answers a constant {}: the HTTP stack of the service (Tomcat, filters, observation, JSON) and nothing
# else. (The liveness endpoint measured a third of it: the health machinery is heavier than a constant response.) It is
# on the management port, which passes the same security filter chain (as a public path) but checks no key.
log "ceilings: a trivial endpoint of each service"
run_wrk trivial-write "$WRITE_MANAGEMENT/actuator/info"
run_wrk trivial-read "$READ_MANAGEMENT/actuator/info"

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
KEYS=$KEYS run_wrk write "$WRITE" -s bench/write.lua
REDIS_AFTER_WRITES=$(redis_memory)

log "reads: preloading $KEYS keys"
bench load --write "$WRITE" --events $KEYS --keys $KEYS --sequential true >/dev/null
bench caught-up --read "$READ" >/dev/null
log "reads: GET /read/{key} over $KEYS keys, 32 connections, ${D}s"
KEYS=$KEYS run_wrk read "$READ" -s bench/read.lua

log "commit to visible: 2000 writes/s for ${PROBE_SECONDS}s"
# The read-your-writes path (GET /read with min_version) is not warmed by anything before: warm it first.
bench probe --write "$WRITE" --read "$READ" --rate 1000 --seconds "$WARM" >/dev/null
# The stages of commit to visible, as the services time them (cqrs_stage_seconds), scraped around each window.
STAGES=(--write-management "$WRITE_MANAGEMENT" --projector-management "$PROJECTOR_MANAGEMENT" --read-management "$READ_MANAGEMENT")
bench probe --write "$WRITE" --read "$READ" --rate 2000 --seconds "$PROBE_SECONDS" "${STAGES[@]}" >"$WORK/probe.json"
log "commit to visible: 500 writes/s for ${PROBE_SECONDS}s (below saturation)"
bench probe --write "$WRITE" --read "$READ" --rate 500 --seconds "$PROBE_SECONDS" "${STAGES[@]}" >"$WORK/probe-low.json"

log "catch-up: projector paused, loading $CATCHUP_EVENTS events"
bench caught-up --read "$READ" >/dev/null
kill -STOP "$PROJECTOR_PID"
bench load --write "$WRITE" --events "$CATCHUP_EVENTS" --keys $KEYS >"$WORK/load.json"
log "catch-up: backlog loaded ($(field "$WORK/load.json" events_per_second) events/s through /write/batch), projector resumed"
kill -CONT "$PROJECTOR_PID"
bench caught-up --read "$READ" >"$WORK/caught-up.json"
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

# The result file, its row in bench/RESULTS.md, and the result as the last line of output.
python3 bench/results.py write --measurements "$WORK" --out "$OUT" --table bench/RESULTS.md \
  --timestamp "$STAMP" --quick "$QUICK" --duration "$D" --catchup-events "$CATCHUP_EVENTS" \
  --pg-insert-tps "$PG_INSERT_TPS" --pg-select-tps "$PG_SELECT_TPS" --redis-xadd-rps "$REDIS_XADD_RPS" \
  --rss-write "$(rss_mb write-service)" --rss-projector "$(rss_mb projector-service)" --rss-read "$(rss_mb read-service)" \
  --healthy "$HEALTHY" --redis-before "$REDIS_BEFORE" --redis-after-writes "$REDIS_AFTER_WRITES" \
  --redis-after "$REDIS_AFTER" --stream-length "$STREAM_LENGTH"
log "results in $OUT and bench/RESULTS.md"
