#!/usr/bin/env bash
# The project's benchmark: the stack's figures at steady state, side by side with ceilings and a peer (the naive
# design, bench/naive-write) measured in the same run.
#
#   bench/run.sh           full run (15-40 minutes: each path is warmed until steady, up to 5 minutes)
#   bench/run.sh --quick   short smoke run (about 5 minutes; warm-ups capped at 30 s, so rarely steady)
#
# Measures the peer first (started here, stopped before the stack is measured), then starts the stack with
# ./stack.sh unless one answers already (and stops what it started), installs wrk, pgbench and redis-benchmark from
# Debian's packages if missing, writes bench/results/<timestamp>.json, appends a row to bench/RESULTS.md and prints
# one JSON object as its last line.
#
# Steady state: before each wrk measurement, warm_until_steady runs the same load in windows of WINDOW seconds until
# two windows in a row are within 5 % of each other and the JIT of the JVMs on the path compiled for less than 2 % of
# the last window (jstat -compiler), or until WARM_CAP seconds; the result records, per path, how long that took,
# whether it got there, and after how many seconds of load the throughput first reached 90 % of the measured one.
#
# Honours the stack's own settings: WRITE_PORT, PROJECTOR_PORT, READ_PORT, WRITE_MANAGEMENT_PORT,
# PROJECTOR_MANAGEMENT_PORT, READ_MANAGEMENT_PORT, EVENT_STREAM_NAME, STACK_RUN_DIR (where the API keys are), and passes the rest (WRITE_DB_URL,
# READ_DB_URL, STACK_DB_ROLE_PREFIX...) to ./stack.sh. BENCH_BASELINE_CPU_US_PER_WRITE: the stack's CPU per write
# (µs, whole stack) of the build to beat, for the CPU target; without it that target is not judged.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=false
[[ ${1:-} == --quick ]] && QUICK=true
# WARM_CAP: most seconds of warm-up per path. PROBE_WARM: seconds of the probe before it is measured (see there).
if $QUICK; then
  D=5; WARM_CAP=30; PROBE_WARM=5; CATCHUP_EVENTS=100000; PROBE_SECONDS=5
else
  D=20; WARM_CAP=300; PROBE_WARM=30; CATCHUP_EVENTS=1000000; PROBE_SECONDS=20
fi
WINDOW=${BENCH_WINDOW:-5}
KEYS=100000
WRITE=http://127.0.0.1:${WRITE_PORT:-8081}
PROJECTOR=http://127.0.0.1:${PROJECTOR_PORT:-8082}
READ=http://127.0.0.1:${READ_PORT:-8083}
WRITE_MANAGEMENT=http://127.0.0.1:${WRITE_MANAGEMENT_PORT:-9081}
PROJECTOR_MANAGEMENT=http://127.0.0.1:${PROJECTOR_MANAGEMENT_PORT:-9082}
READ_MANAGEMENT=http://127.0.0.1:${READ_MANAGEMENT_PORT:-9083}
PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
export PGHOST PGUSER
PGPORT=${PGPORT:-5432}
export PGHOST PGUSER PGPORT
REDIS_HOST=${REDIS_HOST:-127.0.0.1} REDIS_PORT=${REDIS_PORT:-6379}
STREAM=${EVENT_STREAM_NAME:-cqrs:events}
RUN_DIR=${STACK_RUN_DIR:-.run}
RESULTS=bench/results
mkdir -p "$RESULTS"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$RESULTS/$STAMP.json"
WORK=$(mktemp -d)
STARTED_STACK=false
# Names of this run's own: two runs on one machine (from two checkouts) never drop each other's database or stream.
RUN_ID=$(tr '[:upper:]' '[:lower:]' <<<"$STAMP")_$$
CEILING_DB=cqrs_bench_ceiling_$RUN_ID
CEILING_STREAM=bench:ceiling:xadd:$RUN_ID
NAIVE_DB=cqrs_bench_naive_$RUN_ID
NAIVE_STREAM=bench:naive:events:$RUN_ID

log() { printf '[bench] %s\n' "$*" >&2; }

NAIVE_PID=""
stop_naive() { # TERM, then KILL after 30 s: the peer never runs beside the stack
  [[ -n $NAIVE_PID ]] || return 0
  kill -TERM "$NAIVE_PID" 2>/dev/null || true
  for _ in $(seq 60); do kill -0 "$NAIVE_PID" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$NAIVE_PID" 2>/dev/null || true
  NAIVE_PID=""
}

# projector_group pause|resume: every projector of the group, through the projector's operator endpoint (admin key).
PROJECTOR_PAUSED=false
projector_group() {
  curl -sf -o /dev/null -X POST -H "Authorization: Bearer ${ADMIN_KEY:-}" -H 'Content-Type: application/json' \
    -d '{"scope":"group"}' "$PROJECTOR_MANAGEMENT/actuator/projector/$1"
}

cleanup() {
  if $PROJECTOR_PAUSED; then projector_group resume || log "could not resume the projectors: POST /actuator/projector/resume"; fi
  stop_naive
  psql -qX -d postgres -c "drop database if exists $CEILING_DB" -c "drop database if exists $NAIVE_DB with (force)" \
    >/dev/null 2>&1 || true
  redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" del "$CEILING_STREAM" "$NAIVE_STREAM" >/dev/null 2>&1 || true
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

# The JDK the wrapper would pick: for the helper, the peer, and jstat (the JIT's progress in warm_until_steady).
JAVA_HOME=${JAVA_HOME:-}
# shellcheck source=/dev/null
set +u; . .mvn/select-jdk.sh; set -u
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
JSTAT=${JAVA_HOME:+$JAVA_HOME/bin/}jstat
# Compiled once here: the source launcher compiled it at every call, 2-3 s of CPU inside the window it measured.
"${JAVA_HOME:+$JAVA_HOME/bin/}javac" -d "$WORK/classes" bench/Bench.java
bench() { "$JAVA" -cp "$WORK/classes" Bench "$@" | tail -n 1; }

# --- steady state ------------------------------------------------------------------------------------------------

# jit_totals <pid...>: methods compiled and seconds spent compiling so far, summed over the JVMs (jstat -compiler's
# Compiled and Time); empty when they cannot be read. bench/cpu.py reads the counters jstat reads, without starting a
# JVM each time (1-2 s of CPU per call on a loaded machine); jstat itself is the fallback.
jit_totals() {
  local totals
  totals=$(python3 bench/cpu.py jit "$@" 2>/dev/null || true)
  [[ -n $totals ]] || totals=$(jstat_totals "$@")
  echo "$totals"
}

jstat_totals() {
  local pid line compiled=0 seconds=0
  for pid in "$@"; do
    line=$("$JSTAT" -compiler "$pid" 2>/dev/null | awk 'NR == 2 {print $1, $4}') || return 0
    [[ -n $line ]] || return 0
    compiled=$((compiled + ${line% *}))
    seconds=$(awk -v a="$seconds" -v b="${line#* }" 'BEGIN {print a + b}')
  done
  echo "$compiled $seconds"
}

# settle: a CHECKPOINT of the PostgreSQL at PGHOST before a path is warmed and measured, so that the WAL the phase
# before left behind (the peer's writes, ours, the read preload) is not written out inside the next path's windows.
# Without it the read figures dropped by a third for a minute after the write phase while that checkpoint ran, and
# the harness could judge two such windows steady. Needs a superuser or pg_checkpoint; without, it says so and goes on.
settle() {
  psql -qX -d postgres -c checkpoint >/dev/null 2>&1 || log "could not CHECKPOINT as $PGUSER; measuring without"
}

# warm_until_steady <name> <pids> <url> [wrk args...]: the measured load (wrk, 2 threads, 32 connections) in
# windows of WINDOW s until bench/results.py judges the last two steady (throughput within 5 %, the JIT of <pids>,
# comma-separated, quiet), or WARM_CAP s have passed. One line per window in $WORK/<name>.windows.
warm_until_steady() {
  local name=$1 pids=$2 url=$3 start=$EPOCHREALTIME jit
  shift 3
  : >"$WORK/$name.windows"
  jit=$(jit_totals ${pids//,/ })
  while :; do
    wrk -t2 -c32 -d"${WINDOW}s" "$@" "$url" >"$WORK/$name.window" 2>&1 || true
    local before=$jit
    jit=$(jit_totals ${pids//,/ })
    local status=0
    python3 bench/results.py window "$WORK/$name.window" --windows "$WORK/$name.windows" --window "$WINDOW" \
      --cap "$WARM_CAP" --started "$start" --jit-before "$before" --jit-after "$jit" || status=$?
    ((status == 0)) && break
    ((status == 10)) || { log "bench/results.py window failed (exit $status)"; exit 1; }
  done
  log "  $name: warm-up $(python3 bench/results.py warmup "$WORK/$name.windows" --window "$WINDOW")"
}

# Every measurement goes to $WORK/<name>.json, which bench/results.py puts together into the run's result.
# run_wrk <name> <pids> <url> [args...]: warms the path until steady, then runs wrk for D s and writes
# $WORK/<name>.json: {"rps":..,"p50_ms":..,"p99_ms":..,"errors":.., "cpu_us_per_request": {component: µs},
# "warmup": {...}}, the CPU each component spent per request during the measured run.
run_wrk() {
  local name=$1 pids=$2 url=$3
  shift 3
  warm_until_steady "$name" "$pids" "$url" "$@"
  python3 bench/cpu.py snapshot >"$WORK/$name.cpu0"
  wrk -t2 -c32 -d"${D}s" --latency "$@" "$url" >"$WORK/$name.txt" 2>&1
  python3 bench/cpu.py snapshot >"$WORK/$name.cpu1"
  python3 bench/cpu.py diff "$WORK/$name.cpu0" "$WORK/$name.cpu1" >"$WORK/$name.cpu"
  python3 bench/results.py wrk "$WORK/$name.txt" "$WORK/$name.cpu" --windows "$WORK/$name.windows" \
    --window "$WINDOW" >"$WORK/$name.json"
  log "  $name: $(python3 bench/results.py summary "$WORK/$name.json")"
}

# --- the peer: the naive design (bench/naive-write), alone on the machine -----------------------------------------

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

newest_jar() { compgen -G "$1/target/$2-*.jar" | xargs -r ls -t 2>/dev/null | head -n 1; }
NAIVE_JAR=$(newest_jar bench/naive-write naive-write || true)
if [[ -z $NAIVE_JAR || -n $(find bench/naive-write/pom.xml bench/naive-write/src/main -newer "$NAIVE_JAR" -type f -print -quit) ]]
then
  log "building the peer (its jar is missing or older than its sources): ./mvnw -B -q -DskipTests -pl bench/naive-write -am package"
  ./mvnw -B -q -DskipTests -pl bench/naive-write -am package >&2
  NAIVE_JAR=$(newest_jar bench/naive-write naive-write)
fi
psql -qX -d postgres -c "create database $NAIVE_DB" >/dev/null
NAIVE_PORT=$(free_port)
NAIVE=http://127.0.0.1:$NAIVE_PORT
SERVER_PORT=$NAIVE_PORT NAIVE_DB_URL=jdbc:postgresql://$PGHOST:$PGPORT/$NAIVE_DB NAIVE_DB_USER=$PGUSER \
  NAIVE_DB_PASSWORD=${PGPASSWORD:-} REDIS_URL=redis://$REDIS_HOST:$REDIS_PORT NAIVE_STREAM_NAME=$NAIVE_STREAM \
  "$JAVA" -Xmx256m -XX:+ExitOnOutOfMemoryError -jar "$NAIVE_JAR" >"$WORK/naive-write.log" 2>&1 &
NAIVE_PID=$!
log "peer: the naive design (INSERT, then XADD; no outbox), pid $NAIVE_PID on port $NAIVE_PORT"
for _ in $(seq 240); do
  curl -sf -o /dev/null "$NAIVE/actuator/health" && break
  kill -0 "$NAIVE_PID" 2>/dev/null || { tail -n 30 "$WORK/naive-write.log" >&2; log "the peer did not start"; exit 1; }
  sleep 0.5
done
curl -sf -o /dev/null "$NAIVE/actuator/health" || { log "the peer is not ready after 120 s"; exit 1; }
export BENCH_PIDS=naive-write:$NAIVE_PID # bench/cpu.py: this process is the peer
log "peer: POST /write, 32 connections, warm until steady, then ${D}s"
settle
KEYS=$KEYS run_wrk peer "$NAIVE_PID" "$NAIVE" -s bench/write.lua
log "peer: its trivial endpoint (/actuator/info)"
run_wrk peer-trivial "$NAIVE_PID" "$NAIVE/actuator/info"
stop_naive
psql -qX -d postgres -c "drop database if exists $NAIVE_DB with (force)" >/dev/null
redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" del "$NAIVE_STREAM" >/dev/null

# --- the stack ------------------------------------------------------------------------------------------------------

answers() { curl -sf -o /dev/null "$1/readyz"; }
if ! answers "$WRITE" || ! answers "$PROJECTOR" || ! answers "$READ"; then
  log "starting the stack with ./stack.sh up, without the per-key rate limit (the benchmark is one heavy client)"
  CQRS_RATE_LIMIT_PER_SECOND=0 ./stack.sh up >&2
  STARTED_STACK=true
fi
# The API keys: those ./stack.sh generated, unless BENCH_WRITE_KEY / BENCH_READ_KEY / BENCH_ADMIN_KEY name others (a
# stack started with CQRS_API_KEYS of your own). A stack not started by this script keeps its own rate limit: 429s count
# as errors. The admin key pauses and resumes the projectors for the catch-up measurement.
WRITE_KEY=${BENCH_WRITE_KEY:-$(cat "$RUN_DIR/api-keys/write" 2>/dev/null || true)}
READ_KEY=${BENCH_READ_KEY:-$(cat "$RUN_DIR/api-keys/read" 2>/dev/null || true)}
ADMIN_KEY=${BENCH_ADMIN_KEY:-$(cat "$RUN_DIR/api-keys/admin" 2>/dev/null || true)}
[[ -n $WRITE_KEY && -n $READ_KEY && -n $ADMIN_KEY ]] ||
  { log "no API keys: set BENCH_WRITE_KEY, BENCH_READ_KEY and BENCH_ADMIN_KEY"; exit 1; }
export WRITE_KEY READ_KEY

# service_pid <service> <port>: the process listening on the service's port, never the same jar of another stack on
# the machine; without ss, the PID ./stack.sh recorded.
service_pid() {
  local pid
  pid=$(ss -ltnpH "sport = :$2" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1) || true
  [[ -n $pid ]] || pid=$(cat "$RUN_DIR/$1.pid" 2>/dev/null || true)
  echo "$pid"
}
WRITE_PID=$(service_pid write-service "${WRITE_PORT:-8081}")
PROJECTOR_PID=$(service_pid projector-service "${PROJECTOR_PORT:-8082}")
READ_PID=$(service_pid read-service "${READ_PORT:-8083}")
[[ -n $WRITE_PID && -n $PROJECTOR_PID && -n $READ_PID ]] ||
  { log "cannot find the services' processes by their ports (ss -ltnp) or in $RUN_DIR/*.pid"; exit 1; }
export BENCH_PIDS=write-service:$WRITE_PID,projector-service:$PROJECTOR_PID,read-service:$READ_PID
log "stack: write-service pid $WRITE_PID, projector-service pid $PROJECTOR_PID, read-service pid $READ_PID"

field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
redis_memory() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }

# Writes first and reads second: when this script started the stack, their warm-up records how the services get from
# a cold start to steady state. The write path's JVMs are the write service and the projector.
log "writes: POST /write, 32 connections, warm until steady, then ${D}s"
REDIS_BEFORE=$(redis_memory)
settle
KEYS=$KEYS run_wrk write "$WRITE_PID,$PROJECTOR_PID" "$WRITE" -s bench/write.lua
REDIS_AFTER_WRITES=$(redis_memory)

log "reads: preloading $KEYS keys"
bench load --write "$WRITE" --events $KEYS --keys $KEYS --sequential true >/dev/null
bench caught-up --read "$READ" >/dev/null
settle
log "reads: GET /read/{key} over $KEYS keys, 32 connections, warm until steady, then ${D}s"
KEYS=$KEYS run_wrk read "$READ_PID" "$READ" -s bench/read.lua

# /actuator/info answers a constant {}: the HTTP stack of the service (Tomcat, filters, observation, JSON) and nothing
# else. (The liveness endpoint measured a third of it: the health machinery is heavier than a constant response.) It is
# on the management port, which passes the same security filter chain (as a public path) but checks no key.
log "ceilings: a trivial endpoint of each service"
run_wrk trivial-write "$WRITE_PID" "$WRITE_MANAGEMENT/actuator/info"
run_wrk trivial-read "$READ_PID" "$READ_MANAGEMENT/actuator/info"

log "ceilings: pgbench single-row insert and primary-key select"
psql -qX -d postgres -c "create database $CEILING_DB" >/dev/null
psql -qX -d "$CEILING_DB" -c 'create table t (id bigserial primary key, v text)' \
  -c "insert into t (v) select 'value-' || g from generate_series(1, $KEYS) g" >/dev/null
echo "insert into t (v) values ('value');" >"$WORK/insert.sql"
printf '\\set id random(1, %d)\nselect v from t where id = :id;\n' "$KEYS" >"$WORK/select.sql"
pg_tps() { pgbench -n -c8 -j2 -T"$D" -f "$1" "$CEILING_DB" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
PG_INSERT_TPS=$(pg_tps "$WORK/insert.sql")
PG_SELECT_TPS=$(pg_tps "$WORK/select.sql")

log "ceilings: redis-benchmark XADD"
REDIS_XADD_RPS=$(redis-benchmark -h "$REDIS_HOST" -p "$REDIS_PORT" -q -n $((D * 20000)) -c 32 \
  XADD "$CEILING_STREAM" MAXLEN '~' 10000 '*' f v 2>/dev/null | tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -n 1)

log "commit to visible: 2000 writes/s for ${PROBE_SECONDS}s"
# Each probe first runs its own load for a fixed PROBE_WARM s, unmeasured, in the same process: not until steady, since
# a fixed rate says nothing about warm-up (it is the offered rate whenever the stack keeps up), and the paths it takes
# were warmed until steady just before (writes, reads; only the read-your-writes wait is new to the JIT); but the
# probe's own JVM shares the two cores with the stack, and a cold one took three times the CPU of a warm one.
# The stages of commit to visible, as the services time them (cqrs_stage_seconds), scraped around each window.
STAGES=(--write-management "$WRITE_MANAGEMENT" --projector-management "$PROJECTOR_MANAGEMENT" --read-management "$READ_MANAGEMENT")
bench probe --write "$WRITE" --read "$READ" --rate 2000 --seconds "$PROBE_SECONDS" --warmup-seconds "$PROBE_WARM" \
  "${STAGES[@]}" >"$WORK/probe.json"
log "commit to visible: 500 writes/s for ${PROBE_SECONDS}s (below saturation)"
# At this rate also the CPU per write (and its read) by component: what the stages' times queue for on two cores.
bench probe --write "$WRITE" --read "$READ" --rate 500 --seconds "$PROBE_SECONDS" --warmup-seconds "$PROBE_WARM" \
  "${STAGES[@]}" --cpu-snapshots "$WORK/probe-low" >"$WORK/probe-low.json"
python3 bench/cpu.py diff "$WORK/probe-low.cpu0" "$WORK/probe-low.cpu1" >"$WORK/probe-low.cpu"

log "catch-up: projectors paused, loading $CATCHUP_EVENTS events"
bench caught-up --read "$READ" >/dev/null
# Paused through the operator endpoint (the group: every instance): the projector finishes its batch, then reads
# nothing until resumed, and resumes where it stopped. The pause answers once this instance holds.
PROJECTOR_PAUSED=true
projector_group pause || { log "cannot pause the projectors: POST $PROJECTOR_MANAGEMENT/actuator/projector/pause"; exit 1; }
bench load --write "$WRITE" --events "$CATCHUP_EVENTS" --keys $KEYS >"$WORK/load.json"
log "catch-up: backlog loaded ($(field "$WORK/load.json" events_per_second) events/s through /write/batch), projectors resumed"
projector_group resume || { log "cannot resume the projectors: POST $PROJECTOR_MANAGEMENT/actuator/projector/resume"; exit 1; }
PROJECTOR_PAUSED=false
bench caught-up --read "$READ" >"$WORK/caught-up.json"
# The projector's janitor trims what every group acknowledged every 10 s: memory is judged after one trim.
# The stream's length as the read service's /stats reports it (no redis-cli needed to watch the stream).
stream_length() {
  curl -s -H "Authorization: Bearer $READ_KEY" "$READ/stats" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["stream"]["length"] or 0)'
}
for _ in $(seq 30); do
  (($(stream_length) < 1000)) && break
  sleep 1
done

rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
HEALTHY=true
for service in "$WRITE" "$PROJECTOR" "$READ"; do answers "$service" || HEALTHY=false; done
REDIS_AFTER=$(redis_memory)
STREAM_LENGTH=$(stream_length)

# The result file, its row in bench/RESULTS.md, and the result as the last line of output.
python3 bench/results.py write --measurements "$WORK" --out "$OUT" --table bench/RESULTS.md \
  --timestamp "$STAMP" --quick "$QUICK" --duration "$D" --catchup-events "$CATCHUP_EVENTS" \
  --pg-insert-tps "$PG_INSERT_TPS" --pg-select-tps "$PG_SELECT_TPS" --redis-xadd-rps "$REDIS_XADD_RPS" \
  --rss-write "$(rss_mb "$WRITE_PID")" --rss-projector "$(rss_mb "$PROJECTOR_PID")" --rss-read "$(rss_mb "$READ_PID")" \
  --healthy "$HEALTHY" --redis-before "$REDIS_BEFORE" --redis-after-writes "$REDIS_AFTER_WRITES" \
  --redis-after "$REDIS_AFTER" --stream-length "$STREAM_LENGTH" --stack-started "$STARTED_STACK" \
  --window "$WINDOW" --warm-cap "$WARM_CAP" --probe-warm "$PROBE_WARM" \
  --baseline-cpu-us-per-write "${BENCH_BASELINE_CPU_US_PER_WRITE:-}"
log "results in $OUT and bench/RESULTS.md"
