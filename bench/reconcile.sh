#!/usr/bin/env bash
# What a reconciliation pass costs: two fresh databases holding the same N keys (default 1,000,000) in key_state and
# records, a small share of them changed by hand in the read model, and the write service's reconciliation
# comparing them with its default settings. Measures the second pass (the first warms the JIT and the caches):
# its duration, its keys per second, and the CPU it took in the write service and in PostgreSQL.
#
#   bench/reconcile.sh [keys]
#
# Uses the local PostgreSQL (PGHOST, PGUSER) and Redis; creates and drops cqrs_bench_rec_write / cqrs_bench_rec_read.
# Prints one JSON object as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=${1:-1000000}
DIFFERING=$((KEYS / 10000)) # 0.01 %, spread over the key space: about as many ranges compared key by key
PORT=${RECONCILE_BENCH_PORT:-18091}
MANAGEMENT_PORT=${RECONCILE_BENCH_MANAGEMENT_PORT:-18092}
PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
export PGHOST PGUSER
WRITE_DB=cqrs_bench_rec_write
READ_DB=cqrs_bench_rec_read
WORK=$(mktemp -d)

log() { printf '[reconcile-bench] %s\n' "$*" >&2; }

cleanup() {
  [[ -n ${SERVICE_PID:-} ]] && kill "$SERVICE_PID" 2>/dev/null && wait "$SERVICE_PID" 2>/dev/null
  psql -qX -d postgres -c "drop database if exists $WRITE_DB" -c "drop database if exists $READ_DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=/dev/null
set +u; . .mvn/select-jdk.sh; set -u
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
JAR=$(compgen -G "write-service/target/write-service-*.jar" | grep -v -e '-plain' -e '-sources' | tail -n 1 || true)
if [[ -z $JAR ]]; then
  log "building the write service"
  ./mvnw -B -q -DskipTests package -pl write-service -am
  JAR=$(compgen -G "write-service/target/write-service-*.jar" | grep -v -e '-plain' -e '-sources' | tail -n 1)
fi

log "creating $WRITE_DB and $READ_DB with $KEYS keys each, $DIFFERING of them changed in the read model"
psql -qX -d postgres -c "set client_min_messages = warning" -c "drop database if exists $WRITE_DB" -c "drop database if exists $READ_DB" \
  -c "create database $WRITE_DB" -c "create database $READ_DB" >/dev/null
for migration in $(ls db/migrations/write/*.sql | sort -V); do psql -qX -v ON_ERROR_STOP=1 -d $WRITE_DB -f "$migration" >/dev/null; done
for migration in $(ls db/migrations/read/V*.sql | sort -V); do psql -qX -v ON_ERROR_STOP=1 -d $READ_DB -f "$migration" >/dev/null; done
psql -qX -v ON_ERROR_STOP=1 -d $WRITE_DB -c "
  insert into key_state (key, version, write_count, deleted, updated_at)
  select 'key-' || lpad(i::text, 8, '0'), 3, 2, i % 50 = 0, now() - interval '1 hour'
  from generate_series(1, $KEYS) i;" -c "vacuum analyze key_state" >/dev/null
psql -qX -v ON_ERROR_STOP=1 -d $READ_DB -c "
  insert into records (key, value, version, write_count, deleted, created_at, updated_at, last_command_id)
  select 'key-' || lpad(i::text, 8, '0'), case when i % 50 = 0 then null else 'value ' || i end, 3, 2, i % 50 = 0,
         now(), now(), i
  from generate_series(1, $KEYS) i;
  update records set write_count = 1 where key in (
    select 'key-' || lpad((i * 9973 % $KEYS + 1)::text, 8, '0') from generate_series(1, $DIFFERING) i);" \
  -c "vacuum analyze records" >/dev/null

log "starting the write service on port $PORT"
WRITE_DB_URL=jdbc:postgresql://$PGHOST:5432/$WRITE_DB WRITE_DB_USER=$PGUSER \
READ_DB_URL=jdbc:postgresql://$PGHOST:5432/$READ_DB CQRS_RECONCILE_READ_DB_USER=$PGUSER \
EVENT_STREAM_NAME="bench:reconcile:$$" SERVER_PORT=$PORT MANAGEMENT_PORT=$MANAGEMENT_PORT CQRS_RECONCILE_PASS_INTERVAL=5s \
  "$JAVA" -Xmx256m -jar "$JAR" --spring.flyway.enabled=false >"$WORK/service.log" 2>&1 &
SERVICE_PID=$!

metric() { # metric <name>: its value on the Prometheus page, 0 when absent
  curl -sf "http://127.0.0.1:$MANAGEMENT_PORT/actuator/prometheus" | awk -v m="$1" '$1 == m || index($1, m "{") == 1 {s += $2} END {print s + 0}'
}
cpu_ticks() { # "<pid> <user+system ticks>" per line, for the processes given that still exist
  local pid
  for pid in "$@"; do
    [[ -r /proc/$pid/stat ]] && awk -v p="$pid" '{print p, $14 + $15}' "/proc/$pid/stat"
  done
}
backends() { psql -qAtX -d postgres -c "select pid from pg_stat_activity where datname in ('$WRITE_DB', '$READ_DB')"; }
passes() { # whole passes so far, from the cheap metrics endpoint (a Prometheus scrape per poll would cost CPU)
  curl -sf "http://127.0.0.1:$MANAGEMENT_PORT/actuator/metrics/cqrs.reconcile.pass" \
    | python3 -c 'import json,sys; print(int(next(m["value"] for m in json.load(sys.stdin)["measurements"] if m["statistic"] == "COUNT")))' \
    2>/dev/null || echo 0
}
wait_passes() { # wait_passes <count>
  until [[ $(passes) -ge $1 ]]; do
    kill -0 "$SERVICE_PID" 2>/dev/null || { tail -n 40 "$WORK/service.log" >&2; exit 1; }
    sleep 1
  done
}

wait_passes 1
log "first pass done; measuring the second"
cpu_ticks "$SERVICE_PID" >"$WORK/java.before"; cpu_ticks $(backends) >"$WORK/pg.before"
sum_before=$(metric cqrs_reconcile_pass_seconds_sum)
wait_passes 2
cpu_ticks "$SERVICE_PID" >"$WORK/java.after"; cpu_ticks $(backends) >"$WORK/pg.after"
sum_after=$(metric cqrs_reconcile_pass_seconds_sum)
found=$(metric 'cqrs_reconcile_divergences_found_total')
compared=$(metric cqrs_reconcile_keys_compared_total)

python3 - "$KEYS" "$DIFFERING" "$sum_before" "$sum_after" "$WORK" "$(getconf CLK_TCK)" "$found" "$compared" <<'PY'
import json, sys
keys, differing = int(sys.argv[1]), int(sys.argv[2])
seconds = float(sys.argv[4]) - float(sys.argv[3])
work, tick = sys.argv[5], float(sys.argv[6])

def ticks(name):
    with open(f"{work}/{name}") as f:
        return {p: float(t) for p, t in (line.split() for line in f if line.strip())}

def cpu(what):  # CPU seconds between the samples, over the processes alive at the second one
    before, after = ticks(what + ".before"), ticks(what + ".after")
    return sum(t - before.get(p, 0) for p, t in after.items()) / tick

java, pg = cpu("java"), cpu("pg")
print(json.dumps({
    "keys": keys, "differing_keys": differing, "pass_seconds": round(seconds, 1),
    "keys_per_second": round(keys / seconds), "write_service_cpu_seconds": round(java, 1),
    "postgres_backends_cpu_seconds": round(pg, 1), "cores_busy_during_pass": round((java + pg) / seconds, 2),
    "divergences_found": int(float(sys.argv[7])), "keys_compared_one_by_one_two_passes": int(float(sys.argv[8]))}))
PY
