#!/usr/bin/env bash
# CPU per write of one build at steady state, by component: how two builds compare on the same machine, one after the
# other, without a full bench/run.sh each.
#
#   bench/cpu-per-write.sh [--fresh] <checkout>     e.g. a worktree of an older commit, built (./mvnw -DskipTests package)
#
# Starts the stack of <checkout> with its own ./stack.sh up (its own JVM options; the per-key rate limit off), runs this
# repository's write load (bench/write.lua, wrk -t2 -c32) in 15 s windows until two windows in a row are within 5 %
# (at least 8 windows, at most 24), then measures three 30 s windows with bench/cpu.py snapshots around each, prints
# req/s and µs of CPU per write for each component, and stops that stack. --fresh drops the stack's two databases
# (cqrs_write and cqrs_read, ./stack.sh's defaults) first, so that every build starts from the same empty state; it
# asks nothing: never use it on a stack whose data you want. Needs wrk and psql; no other stack may be running.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
FRESH=false
[[ ${1:-} == --fresh ]] && { FRESH=true; shift; }
TREE=${1:?usage: bench/cpu-per-write.sh [--fresh] <checkout>}
TREE=$(cd "$TREE" && pwd)
WRITE=http://127.0.0.1:${WRITE_PORT:-8081}

if $FRESH; then
  psql -h "${PGHOST:-127.0.0.1}" -U "${PGUSER:-postgres}" -qc "drop database if exists cqrs_write" \
    -c "drop database if exists cqrs_read"
fi
(cd "$TREE" && CQRS_RATE_LIMIT_PER_SECOND=0 ./stack.sh up >/dev/null)
trap '(cd "$TREE" && ./stack.sh down >/dev/null 2>&1) || true' EXIT
RUN_DIR=$TREE/${STACK_RUN_DIR:-.run}
WRITE_KEY=$(cat "$RUN_DIR/api-keys/write")
export WRITE_KEY
BENCH_PIDS=write-service:$(cat "$RUN_DIR/write-service.pid"),projector-service:$(cat "$RUN_DIR/projector-service.pid")
BENCH_PIDS+=,read-service:$(cat "$RUN_DIR/read-service.pid")
export BENCH_PIDS # bench/cpu.py: these processes are the services

load() { wrk -t2 -c32 -d"$1" -s bench/write.lua "$WRITE"; } # from the repository root: write.lua loads bench/seed.lua
rate() { awk '/Requests\/sec/ {print $2}'; }
steady() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(b <= 0 or abs(a - b) / b >= 0.05)" "$@"; }

echo "$(cd "$TREE" && git log --oneline -1 2>/dev/null || echo "$TREE")"
previous=0
for window in $(seq 24); do
  current=$(load 15s | rate)
  echo "warm-up window $window: $current req/s"
  if ((window >= 8)) && steady "$previous" "$current"; then break; fi
  previous=$current
done
work=$(mktemp -d)
for window in 1 2 3; do
  python3 "$REPO/bench/cpu.py" snapshot >"$work/before"
  load 30s >"$work/wrk"
  python3 "$REPO/bench/cpu.py" snapshot >"$work/after"
  python3 "$REPO/bench/cpu.py" diff "$work/before" "$work/after" | python3 -c '
import json, sys
cpu, requests, rps = json.load(sys.stdin), int(sys.argv[1]), sys.argv[2]
shares = ", ".join(f"{name} {seconds / requests * 1e6:.0f}" for name, seconds in cpu.items() if name != "wall")
print(f"measured window {sys.argv[3]}: {rps} req/s; µs of CPU per write: {shares}")
' "$(awk '/requests in/ {print $1}' "$work/wrk")" "$(rate <"$work/wrk")" "$window"
done
rm -rf "$work"
