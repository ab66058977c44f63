#!/usr/bin/env bash
# The load of an AOT training run: `./stack.sh train` runs it against services started with -XX:AOTCacheOutput, so that
# the cache they write at exit holds the classes and the method profiles of the real request paths. It is the
# benchmark's own load (bench/write.lua, read.lua, Bench.java), plus bench/train.lua for the paths the benchmark does not
# take (DELETE, /stats, /health, GET /read with min_version).
#
#   bench/train.sh [seconds]     default: STACK_TRAIN_SECONDS, else 180
#
# Needs wrk, and the API keys in WRITE_KEY / READ_KEY; the services' ports come from WRITE_PORT / READ_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_WANTED=${1:-${STACK_TRAIN_SECONDS:-180}}
KEYS=${KEYS:-100000}
export KEYS
WRITE=http://127.0.0.1:${WRITE_PORT:-8081}
READ=http://127.0.0.1:${READ_PORT:-8083}
: "${WRITE_KEY:?set WRITE_KEY (a key with the write scope)}" "${READ_KEY:?set READ_KEY (a key with the read scope)}"
export WRITE_KEY READ_KEY
command -v wrk >/dev/null || { echo "[train] wrk is needed: apt-get install wrk" >&2; exit 1; }

log() { printf '[train] %s\n' "$*" >&2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
set +u; . .mvn/select-jdk.sh; set -u
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
"${JAVA_HOME:+$JAVA_HOME/bin/}javac" -d "$WORK" bench/Bench.java
bench() { "$JAVA" -cp "$WORK" Bench "$@" | tail -n 1; }
# wrk_for <seconds> <url> [args...]: 32 connections as in bench/run.sh; what it measured does not matter here.
wrk_for() {
  local seconds=$1 url=$2
  shift 2
  wrk -t2 -c32 -d"${seconds}s" "$@" "$url" >/dev/null 2>&1 || log "wrk on $url failed (ignored)"
}

# Every key the read mix asks for exists, as in the benchmark; the batches also make the projector catch up.
log "preloading $KEYS keys through POST /write/batch"
bench load --write "$WRITE" --events "$KEYS" --keys "$KEYS" --sequential true >/dev/null
bench caught-up --read "$READ" >/dev/null
DEADLINE=$((SECONDS + SECONDS_WANTED))
round=0
while ((SECONDS < DEADLINE)); do
  round=$((round + 1))
  log "round $round ($((DEADLINE - SECONDS))s left): writes, deletes, reads, read-your-writes, a backlog"
  wrk_for 15 "$WRITE" -s bench/write.lua
  TRAIN_TARGET=write wrk_for 5 "$WRITE" -s bench/train.lua
  wrk_for 15 "$READ" -s bench/read.lua
  TRAIN_TARGET=read wrk_for 5 "$READ" -s bench/train.lua
  bench probe --write "$WRITE" --read "$READ" --rate 500 --seconds 5 >/dev/null
  bench load --write "$WRITE" --events 20000 --keys "$KEYS" >/dev/null
  bench caught-up --read "$READ" >/dev/null
done
log "done after ${SECONDS}s"
