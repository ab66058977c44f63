#!/usr/bin/env bash
# The fault-injection suite (issue 8): starts its own PostgreSQL clusters (and a standby) and Redis on free loopback
# ports and the services from their jars, scaled out (a read service on the standby), injects fourteen faults under
# continuous writes and reads, and checks the read model against the write database after each. Prints one summary
# line per scenario and a total line; exits non-zero on any loss, mismatch or double application. Never touches the
# machine's own servers (5432, 6379).
#
#   chaos/run.sh              uses the jars in */target (builds them when missing)
#   CQRS_CHAOS_BUILD=1 chaos/run.sh   rebuilds them first
#   CQRS_CHAOS_KEEP=1 chaos/run.sh    keeps the work directory (logs, data) for a post-mortem
#   CQRS_CHAOS_ONLY=3,11 chaos/run.sh runs only the scenarios with these numbers
#   CQRS_CHAOS_ROOT=<checkout> chaos/run.sh   takes the service jars from another checkout's */target (e.g. to
#                                     see the suite fail against a build without some fix)
#
#   chaos/run.sh hostile      the hostile-input suite instead (issue 14): the same servers and jars, every hostile
#                             input seen so far, each service's peak heap per case
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
case ${1:-faults} in
  faults) main=io.cqrs.chaos.ChaosSuite limit=1500 heap=256m ;;
  # The hostile suite's own requests are large (forty 7.8 MB bodies at once): its client gets the room they need.
  hostile) main=io.cqrs.chaos.HostileInputSuite limit=600 heap=1g ;;
  *)
    printf 'usage: chaos/run.sh [faults|hostile]\n' >&2
    exit 2
    ;;
esac
jars_root=${CQRS_CHAOS_ROOT:-$root}

log() { printf '[chaos] %s\n' "$*" >&2; }

apt_install() {
  if [[ $(id -u) -ne 0 ]]; then
    log "missing $*: install it (apt-get install $*)"
    exit 2
  fi
  log "installing $* from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v redis-server >/dev/null && command -v redis-cli >/dev/null || apt_install redis-server
pg_bin=${CQRS_CHAOS_PG_BIN:-}
if [[ -z $pg_bin ]]; then
  pg_bin=/usr/lib/postgresql/15/bin
  [[ -x $pg_bin/initdb ]] || pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -z $pg_bin || ! -x $pg_bin/initdb ]]; then
    apt_install postgresql
    # Debian starts its own cluster on 5432 after installing; the suite does not need it, so leave it as it is.
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
fi

# Same JDK choice as ./mvnw: JAVA_HOME if it is 21+, otherwise the newest 21+ under /usr/lib/jvm.
# shellcheck source=../.mvn/select-jdk.sh
. .mvn/select-jdk.sh
java=${JAVA_HOME:+$JAVA_HOME/bin/}java

# A module's jar, <module>-<version>.jar in its target/, whatever the version (the suite finds the services' alike).
jar_of() { compgen -G "$1/target/$1-*.jar" | grep -v -e '-plain\.jar$' -e '-sources\.jar$' | tail -n 1; }
jars_present() {
  local module
  for module in write-service projector-service read-service chaos; do
    [[ -n $(jar_of "$module") ]] || return 1
  done
  [[ -d chaos/target/lib ]]
}
if [[ -n ${CQRS_CHAOS_BUILD:-} ]] || ! jars_present; then
  log "building the jars: ./mvnw -B -q -DskipTests package"
  ./mvnw -B -q -DskipTests package
fi

work=$(mktemp -d /tmp/cqrs-chaos.XXXXXX)
chmod 755 "$work"

cleanup() {
  local status=$?
  # What a killed or crashed suite left behind: only processes it recorded and that still look like ours.
  if [[ -f $work/pids ]]; then
    while read -r pid; do
      if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -e "$work" -e "$jars_root/.*/target/.*\.jar"; then
        kill -9 "$pid" 2>/dev/null || true
      fi
    done <"$work/pids"
  fi
  local data
  for data in "$work"/*/data; do
    [[ -f $data/postmaster.pid ]] || continue
    if [[ $(id -u) -eq 0 ]]; then
      runuser -u postgres -- "$pg_bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
    else
      "$pg_bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
    fi
  done
  if [[ -n ${CQRS_CHAOS_KEEP:-} ]]; then
    log "kept $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "work directory $work, PostgreSQL from $pg_bin, $("$java" -version 2>&1 | head -n 1)"
set +e
CQRS_CHAOS_DIR=$work CQRS_CHAOS_ROOT=$jars_root CQRS_CHAOS_PG_BIN=$pg_bin \
  timeout --kill-after=20 "$limit" "$java" "-Xmx$heap" -Djdk.httpclient.keepalive.timeout=10 -cp "$(jar_of chaos):chaos/target/lib/*" "$main"
status=$?
set -e
if [[ $status -eq 124 || $status -eq 137 ]]; then
  log "the suite did not finish within $((limit / 60)) minutes"
fi
exit "$status"
