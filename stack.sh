#!/usr/bin/env bash
# The whole stack on this machine, without Docker: ./stack.sh up | down | status | logs [service]
#
# `up` builds the jars when they are missing or older than the sources, checks that PostgreSQL and Redis answer,
# gives each service a database login of its own (creating the roles and the two databases when missing, each
# database owned by the service that migrates it), generates API keys on the first run (unless CQRS_API_KEYS is set),
# starts write-service, projector-service and read-service in the background (logs, PID files, keys and passwords in
# .run/) and waits until all three are ready. `down` stops exactly the processes `up` started.
# Settings come from the environment, then from an optional .env file (see .env.example); the environment wins.
set -euo pipefail
cd "$(dirname "$0")"

# service:default port:variable naming its port:default management port:variable naming it. Each service gets
# SERVER_PORT and MANAGEMENT_PORT (the actuator's, on 127.0.0.1) from its variables.
readonly SERVICES=(
  write-service:8081:WRITE_PORT:9081:WRITE_MANAGEMENT_PORT
  projector-service:8082:PROJECTOR_PORT:9082:PROJECTOR_MANAGEMENT_PORT
  read-service:8083:READ_PORT:9083:READ_MANAGEMENT_PORT
)
# The keys `up` generates: name:scope, one per scope.
readonly GENERATED_KEYS=(local-reader:read local-writer:write local-admin:admin)
# Each service's database login: variable naming the user:variable naming its password:the role `up` makes when the
# user variable is unset (STACK_DB_ROLE_PREFIX + this). write owns the write database, projector the read database;
# reader (read-service) and reconciler (write-service's reconciliation) may only connect to the read database, and
# what they may do there the projector grants after migrating it (db/migrations/read/afterMigrate.sql).
readonly LOGINS=(
  WRITE_DB_USER:WRITE_DB_PASSWORD:write
  PROJECTOR_DB_USER:PROJECTOR_DB_PASSWORD:projector
  READ_DB_USER:READ_DB_PASSWORD:reader
  CQRS_RECONCILE_READ_DB_USER:CQRS_RECONCILE_READ_DB_PASSWORD:reconciler
)

say() { printf '[stack] %s\n' "$*"; }
fail() {
  printf '[stack] %s\n' "$@" >&2
  exit 1
}

# --- settings -------------------------------------------------------------------------------------------------------

load_env_file() { # KEY=VALUE lines of .env, literal values (optionally quoted), without overriding the environment;
  # of two lines for one key the later wins, as in docker compose, so that a line appended to .env takes effect.
  [[ -f $ENV_FILE ]] || return 0
  local line key value
  local -A from_file=()
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] ||
      fail "$ENV_FILE: cannot read the line '$line' (expected KEY=VALUE)"
    key=${BASH_REMATCH[2]}
    value=${BASH_REMATCH[3]}
    if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then
      value=${BASH_REMATCH[1]}
    fi
    [[ -v $key && ! -v from_file[$key] ]] && continue
    export "$key=$value"
    from_file[$key]=1
  done <"$ENV_FILE"
}

load_settings() {
  ENV_FILE=${STACK_ENV_FILE:-.env}
  load_env_file
  RUN_DIR=${STACK_RUN_DIR:-.run}
  KEY_DIR=$RUN_DIR/api-keys
  ROLE_DIR=$RUN_DIR/db-roles
  export WRITE_DB_URL=${WRITE_DB_URL:-jdbc:postgresql://127.0.0.1:5432/cqrs_write}
  export READ_DB_URL=${READ_DB_URL:-jdbc:postgresql://127.0.0.1:5432/cqrs_read}
  export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
  ADMIN_USER=${STACK_DB_ADMIN_USER:-postgres}
  ADMIN_PASSWORD=${STACK_DB_ADMIN_PASSWORD:-}
  ROLE_PREFIX=${STACK_DB_ROLE_PREFIX:-cqrs_}
  # Logins are handed to each service on its own (start_service): no service gets another's password.
  local entry user password suffix
  for entry in "${LOGINS[@]}"; do
    IFS=: read -r user password suffix <<<"$entry"
    export -n "$user" "$password"
  done
  START_TIMEOUT=${STACK_START_TIMEOUT:-180}
  STOP_TIMEOUT=${STACK_STOP_TIMEOUT:-30}
  JAVA_OPTS=${STACK_JAVA_OPTS:--Xmx256m -XX:+ExitOnOutOfMemoryError}
}

port_of() { # port_of <service>: where it listens if up started it, else where it should (WRITE_PORT...)
  if [[ -f $RUN_DIR/$1.port ]] && pid_of "$1" >/dev/null; then
    cat "$RUN_DIR/$1.port"
    return
  fi
  configured_port "$1" 2
}

management_port_of() { # management_port_of <service>: the actuator's port, likewise
  if [[ -f $RUN_DIR/$1.management-port ]] && pid_of "$1" >/dev/null; then
    cat "$RUN_DIR/$1.management-port"
    return
  fi
  configured_port "$1" 4
}

configured_port() { # configured_port <service> <field>: the port its variable (field 2 or 4) sets, or its default
  local entry fields variable
  for entry in "${SERVICES[@]}"; do
    IFS=: read -r -a fields <<<"$entry"
    if [[ ${fields[0]} == "$1" ]]; then
      variable=${fields[$2]}
      printf '%s\n' "${!variable:-${fields[$(($2 - 1))]}}"
      return
    fi
  done
  fail "unknown service '$1' (one of: write-service, projector-service, read-service)"
}

service_names() {
  local entry
  for entry in "${SERVICES[@]}"; do printf '%s\n' "${entry%%:*}"; done
}

# --- processes ------------------------------------------------------------------------------------------------------

jar_of() { # the newest <service>/target/<service>-<version>.jar (the repackaged, executable one)
  local jars
  jars=$(compgen -G "$1/target/$1-*.jar" | xargs -r ls -t 2>/dev/null | head -n 1) || true
  printf '%s\n' "${jars:-$1/target/$1.jar}"
}

pid_of() { # the PID `up` recorded for <service>, if that process still runs our jar (a reused PID is not ours)
  local file=$RUN_DIR/$1.pid pid
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$(jar_of "$1")" || return 1
  printf '%s\n' "$pid"
}

http_get() { curl -fsS --max-time 3 "http://127.0.0.1:$1$2" 2>/dev/null; }

ready() { http_get "$(port_of "$1")" /readyz >/dev/null; }

port_taken() { # a listener on the port (ss sees it even when its accept queue is full); else try to connect
  if command -v ss >/dev/null; then
    [[ -n $(ss -ltnH "sport = :$1" 2>/dev/null) ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# --- up -------------------------------------------------------------------------------------------------------------

select_java() { # the same JDK 21+ ./mvnw picks (.mvn/select-jdk.sh), so the jars run on what they were built for
  # shellcheck source=.mvn/select-jdk.sh
  . .mvn/select-jdk.sh
  JAVA=java
  [[ -n ${JAVA_HOME:-} && -x ${JAVA_HOME:-}/bin/java ]] && JAVA=$JAVA_HOME/bin/java
  command -v "$JAVA" >/dev/null || fail "No java found. Install a JDK 21 or newer (e.g. Temurin 21/25) or set JAVA_HOME."
  local feature
  feature=$(cqrs_java_feature "$JAVA")
  ((feature >= 21)) || fail "The services need Java 21 or newer, but $JAVA is Java $feature and no JDK 21+ was found" \
    "under /usr/lib/jvm. Install one or set JAVA_HOME to it."
}

jars_stale() {
  local service jar
  for service in $(service_names); do
    jar=$(jar_of "$service")
    [[ -f $jar ]] || return 0
    [[ -n $(find pom.xml ./*/pom.xml ./*/src/main db -newer "$jar" -type f -print -quit 2>/dev/null) ]] && return 0
  done
  return 1
}

build_if_needed() {
  local service
  for service in $(service_names); do
    if pid_of "$service" >/dev/null; then
      # Never rebuild a jar under a running JVM; say how to pick up new code instead.
      ! jars_stale || say "the sources changed since the jars were built: ./stack.sh down && ./stack.sh up runs them"
      return
    fi
  done
  if jars_stale; then
    say "building the jars (they are missing or older than the sources): ./mvnw -B -q -DskipTests package"
    ./mvnw -B -q -DskipTests package || fail "The build failed (see above). Fix it, or run ./mvnw -B verify for details."
    # Maven leaves a jar it finds up to date as it was (say only another module's pom changed): mark each one as built
    # from the sources of now, or every later `up` would build again.
    for service in $(service_names); do touch "$(jar_of "$service")"; done
  else
    say "jars are up to date"
  fi
}

parse_jdbc() { # parse_jdbc <jdbc url>: sets DB_HOST DB_PORT DB_NAME, or fails
  [[ $1 =~ ^jdbc:postgresql://([^/:?,]+)(:([0-9]+))?/([^?]+)(\?.*)?$ ]] ||
    fail "Cannot read '$1' as jdbc:postgresql://host[:port]/database: create that database yourself, or use that form."
  DB_HOST=${BASH_REMATCH[1]}
  DB_PORT=${BASH_REMATCH[3]:-5432}
  DB_NAME=${BASH_REMATCH[4]}
}

postgres_hint() {
  local version
  version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)
  if [[ -n $version ]]; then
    printf 'Start it, e.g. on Debian: pg_ctlcluster --skip-systemctl-redirect %s main start' "$version"
  else
    printf 'Install and start it, e.g. on Debian: apt-get install postgresql && pg_ctlcluster --skip-systemctl-redirect 15 main start'
  fi
}

psql_on() { # psql_on <host> <port> <user> <password> <database> [psql options...]: quiet, stops at the first error,
  # never prompts for a password (a server that wants one and gets none says so instead)
  local host=$1 port=$2 user=$3 password=$4 database=$5
  shift 5
  PGPASSWORD=$password PGCONNECT_TIMEOUT=3 psql -X -q -w -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$user" \
    -d "$database" "$@"
}

check_server() { # check_server <host> <port> <user> <password> <what to set>: fail with a hint unless user gets in
  local error
  if ! error=$(psql_on "$1" "$2" "$3" "$4" postgres -Atc 'select 1' 2>&1 >/dev/null); then
    if grep -qiE 'could not connect|connection refused|timeout expired|no such file' <<<"$error"; then
      fail "PostgreSQL does not answer on $1:$2. $(postgres_hint)" \
        "(or point WRITE_DB_URL / READ_DB_URL at a running server)."
    fi
    fail "PostgreSQL on $1:$2 refused user '$3': $(head -n 1 <<<"$error")" "Set $5 (in the environment or .env)."
  fi
}

ensure_database() { # ensure_database <host> <port> <name> <user> <password> [owner]: create it when missing
  local exists
  exists=$(psql_on "$1" "$2" "$4" "$5" postgres -Atc "select 1 from pg_database where datname = '${3//\'/\'\'}'")
  if [[ $exists == 1 ]]; then
    say "database $3 exists on $1:$2"
  else
    psql_on "$1" "$2" "$4" "$5" postgres -c "create database \"${3//\"/\"\"}\"${6:+ owner \"$6\"}" ||
      fail "Cannot create database $3 on $1:$2 as '$4' (see above)."
    say "created database $3 on $1:$2"
  fi
}

resolve_logins() { # each login's user and password: as set (used as given), else the role `up` makes (MANAGED)
  local entry user password suffix
  MANAGED=()
  for entry in "${LOGINS[@]}"; do
    IFS=: read -r user password suffix <<<"$entry"
    [[ -n ${!user:-} ]] && continue
    printf -v "$user" '%s' "$ROLE_PREFIX$suffix"
    # A password set for a role `up` makes is its password (compose's .env works here too); else one kept in .run/.
    [[ -n ${!password:-} ]] || printf -v "$password" '%s' "$(role_password "$ROLE_PREFIX$suffix")"
    MANAGED+=("$user")
  done
}

managed() { # managed <variable naming a user>: true when `up` makes that login
  local variable
  for variable in "${MANAGED[@]}"; do [[ $variable == "$1" ]] && return 0; done
  return 1
}

role_password() { # the password of a role `up` makes, generated on first use into .run/db-roles/<role> (mode 600)
  local file=$ROLE_DIR/$1
  if [[ ! -s $file ]]; then
    (umask 077 && mkdir -p "$ROLE_DIR")
    chmod 700 "$ROLE_DIR"
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$file")
  fi
  cat "$file"
}

ensure_login() { # ensure_login <host> <port> <variable naming the user> <variable naming its password>
  local role=${!3} exists
  exists=$(psql_on "$1" "$2" "$ADMIN_USER" "$ADMIN_PASSWORD" postgres -Atc \
    "select 1 from pg_roles where rolname = '${role//\'/\'\'}'")
  # Its password is set every time, so that the one kept is the one that works on a server that checks passwords.
  CQRS_ROLE_PASSWORD=${!4} psql_on "$1" "$2" "$ADMIN_USER" "$ADMIN_PASSWORD" postgres -v role="$role" \
    -f db/roles/login.sql || fail "Cannot create or update the login role $role on $1:$2 as '$ADMIN_USER' (see above)."
  local origin=$ROLE_DIR/$role
  [[ -f $origin && $(<"$origin") == "${!4}" ]] || origin=$4
  say "login role $role $([[ $exists == 1 ]] && echo exists || echo created) on $1:$2 (password: $origin)"
}

own_database() { # own_database <host> <port> <database> <owner> <logins that may connect, comma-separated>
  psql_on "$1" "$2" "$ADMIN_USER" "$ADMIN_PASSWORD" "$3" -v owner="$4" -v logins="$5" -f db/roles/database.sql ||
    fail "Cannot hand database $3 on $1:$2 to $4 as '$ADMIN_USER' (see above)."
  say "database $3 and everything in it owned by $4; connect: $4${5:+,$5} only"
}

prepare_databases() { # each service's login, each database owned by the login that migrates it (README, "Databases")
  command -v psql >/dev/null ||
    fail "psql is needed to check and create the databases and roles: apt-get install postgresql-client"
  resolve_logins
  local admin="STACK_DB_ADMIN_USER / STACK_DB_ADMIN_PASSWORD (a user that may create roles and databases), or give"
  admin+=" every service its login (WRITE_DB_USER, PROJECTOR_DB_USER, READ_DB_USER, CQRS_RECONCILE_READ_DB_USER"
  admin+=" and their *_PASSWORD) to have none created"
  parse_jdbc "$WRITE_DB_URL"
  if managed WRITE_DB_USER; then
    check_server "$DB_HOST" "$DB_PORT" "$ADMIN_USER" "$ADMIN_PASSWORD" "$admin"
    ensure_login "$DB_HOST" "$DB_PORT" WRITE_DB_USER WRITE_DB_PASSWORD
    ensure_database "$DB_HOST" "$DB_PORT" "$DB_NAME" "$ADMIN_USER" "$ADMIN_PASSWORD" "$WRITE_DB_USER"
    own_database "$DB_HOST" "$DB_PORT" "$DB_NAME" "$WRITE_DB_USER" ""
  else
    check_server "$DB_HOST" "$DB_PORT" "$WRITE_DB_USER" "$WRITE_DB_PASSWORD" "WRITE_DB_USER / WRITE_DB_PASSWORD"
    ensure_database "$DB_HOST" "$DB_PORT" "$DB_NAME" "$WRITE_DB_USER" "$WRITE_DB_PASSWORD"
  fi
  parse_jdbc "$READ_DB_URL"
  local user
  if managed PROJECTOR_DB_USER || managed READ_DB_USER || managed CQRS_RECONCILE_READ_DB_USER; then
    check_server "$DB_HOST" "$DB_PORT" "$ADMIN_USER" "$ADMIN_PASSWORD" "$admin"
    for user in PROJECTOR_DB_USER READ_DB_USER CQRS_RECONCILE_READ_DB_USER; do
      ! managed $user || ensure_login "$DB_HOST" "$DB_PORT" $user "${user%_USER}_PASSWORD"
    done
  fi
  if managed PROJECTOR_DB_USER; then
    ensure_database "$DB_HOST" "$DB_PORT" "$DB_NAME" "$ADMIN_USER" "$ADMIN_PASSWORD" "$PROJECTOR_DB_USER"
    own_database "$DB_HOST" "$DB_PORT" "$DB_NAME" "$PROJECTOR_DB_USER" "$READ_DB_USER,$CQRS_RECONCILE_READ_DB_USER"
  else
    check_server "$DB_HOST" "$DB_PORT" "$PROJECTOR_DB_USER" "$PROJECTOR_DB_PASSWORD" \
      "PROJECTOR_DB_USER / PROJECTOR_DB_PASSWORD"
    ensure_database "$DB_HOST" "$DB_PORT" "$DB_NAME" "$PROJECTOR_DB_USER" "$PROJECTOR_DB_PASSWORD"
  fi
}

service_logins() { # service_logins <service>: the variables it is started with: its own logins; for the projector
  # also the names (not the passwords) of the logins it grants the read model to.
  case $1 in
    write-service) echo WRITE_DB_USER WRITE_DB_PASSWORD CQRS_RECONCILE_READ_DB_USER CQRS_RECONCILE_READ_DB_PASSWORD ;;
    projector-service) echo PROJECTOR_DB_USER PROJECTOR_DB_PASSWORD READ_DB_USER CQRS_RECONCILE_READ_DB_USER ;;
    read-service) echo READ_DB_USER READ_DB_PASSWORD ;;
  esac
}

redis_answers() { # PING over bash's /dev/tcp (no redis-cli needed); a NOAUTH error also means it is up
  local reply
  exec 3<>"/dev/tcp/$1/$2" || return 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 3 reply <&3 || true
  exec 3>&-
  [[ $reply == +PONG* || $reply == -NOAUTH* ]]
}

ensure_redis() {
  [[ $REDIS_URL =~ ^rediss?://([^@/]*@)?([^:/]+)(:([0-9]+))?(/.*)?$ ]] ||
    fail "Cannot read REDIS_URL '$REDIS_URL' (expected redis://host:port)."
  local host=${BASH_REMATCH[2]} port=${BASH_REMATCH[4]:-6379}
  if ! redis_answers "$host" "$port" 2>/dev/null; then
    fail "Redis does not answer on $host:$port. Start it, e.g.:" \
      "  redis-server --daemonize yes --bind 127.0.0.1 --port $port --appendonly yes --maxmemory-policy noeviction --dir /tmp" \
      "(or point REDIS_URL at a running server)."
  fi
  say "Redis answers on $host:$port"
}

start_service() { # start_service <service>: in the background, output to .run/<service>.log, PID to .run/<service>.pid
  local service=$1 port pid management variable logins=()
  port=$(port_of "$service")
  if pid=$(pid_of "$service"); then
    say "$service already runs (pid $pid, port $port)"
    return
  fi
  rm -f "$RUN_DIR/$service.pid" "$RUN_DIR/$service.port" "$RUN_DIR/$service.management-port"
  check_port "$service"
  management=$(management_port_of "$service")
  for variable in $(service_logins "$service"); do logins+=("$variable=${!variable}"); done
  # shellcheck disable=SC2086 # JAVA_OPTS holds several options on purpose
  SERVER_PORT=$port MANAGEMENT_PORT=$management nohup env "${logins[@]}" \
    "$JAVA" $JAVA_OPTS -jar "$(jar_of "$service")" >"$RUN_DIR/$service.log" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$RUN_DIR/$service.pid"
  printf '%s\n' "$port" >"$RUN_DIR/$service.port"
  printf '%s\n' "$management" >"$RUN_DIR/$service.management-port"
  say "started $service (pid $pid, port $port, management port $management, log $RUN_DIR/$service.log)"
}

check_port() { # check_port <service>: fail unless the service runs already or its ports are free
  local port field
  pid_of "$1" >/dev/null && return
  for field in 2 4; do
    port=$(configured_port "$1" "$field")
    if port_taken "$port"; then
      fail "Port $port, where $1 should listen, is taken by another process." \
        "Stop that process, or choose another port for $1, e.g.: $(port_variable "$1" "$field")=1$port ./stack.sh up"
    fi
  done
}

port_variable() { # port_variable <service> <field>: the variable naming its port (2) or its management port (4)
  local entry fields
  for entry in "${SERVICES[@]}"; do
    IFS=: read -r -a fields <<<"$entry"
    [[ ${fields[0]} == "$1" ]] && printf '%s\n' "${fields[$2]}"
  done
}

# --- API keys -------------------------------------------------------------------------------------------------------

ensure_api_keys() { # CQRS_API_KEYS as set, else the keys generated on the first run (kept in .run/api-keys/)
  if [[ -n ${CQRS_API_KEYS:-} ]]; then
    say "API keys from CQRS_API_KEYS (environment or .env)"
    return
  fi
  if [[ ! -f $KEY_DIR/setting ]]; then
    command -v sha256sum >/dev/null || fail "sha256sum is needed to make API keys: apt-get install coreutils"
    (umask 077 && mkdir -p "$KEY_DIR")
    chmod 700 "$KEY_DIR"
    local entry name scope secret setting=()
    for entry in "${GENERATED_KEYS[@]}"; do
      IFS=: read -r name scope <<<"$entry"
      secret=cqrs_$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
      (umask 077 && printf '%s\n' "$secret" >"$KEY_DIR/$scope")
      setting+=("$name:$scope:$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)")
    done
    (umask 077 && IFS=, && printf '%s\n' "${setting[*]}" >"$KEY_DIR/setting")
    say "generated API keys, one per scope, in $KEY_DIR/ (readable by you only)"
  fi
  CQRS_API_KEYS=$(<"$KEY_DIR/setting")
  export CQRS_API_KEYS
}

await_ready() { # await_ready <service>: poll readiness until START_TIMEOUT; on failure show the log's tail
  local service=$1 deadline=$((SECONDS + START_TIMEOUT))
  until ready "$service"; do
    if ! pid_of "$service" >/dev/null; then
      printf '[stack] %s exited during start-up. Last lines of %s:\n' "$service" "$RUN_DIR/$service.log" >&2
      tail -n 30 "$RUN_DIR/$service.log" >&2
      fail "$service did not start (see its log above). The others keep running: ./stack.sh down stops them."
    fi
    if ((SECONDS >= deadline)); then
      printf '[stack] %s is not ready after %ss. Last lines of %s:\n' "$service" "$START_TIMEOUT" \
        "$RUN_DIR/$service.log" >&2
      tail -n 30 "$RUN_DIR/$service.log" >&2
      fail "$service is not ready (see above; STACK_START_TIMEOUT sets the wait). ./stack.sh down stops the stack."
    fi
    sleep 1
  done
  say "$service is ready on port $(port_of "$service")"
}

up() {
  mkdir -p "$RUN_DIR"
  command -v curl >/dev/null || fail "curl is needed to check the services' health: apt-get install curl"
  select_java
  ensure_redis
  prepare_databases
  local service
  for service in $(service_names); do check_port "$service"; done
  ensure_api_keys
  build_if_needed
  # The projector migrates the read database, so the read service starts once the projector is ready.
  start_service write-service
  start_service projector-service
  await_ready projector-service
  start_service read-service
  await_ready write-service
  await_ready read-service
  local write_port read_port
  write_port=$(port_of write-service)
  read_port=$(port_of read-service)
  cat <<EOF

The stack is up (java: $JAVA):
  write-service      http://127.0.0.1:$write_port   POST /write, DELETE /write/{key}, GET /stats
  projector-service  http://127.0.0.1:$(port_of projector-service)   no API of its own (/livez, /readyz)
  read-service       http://127.0.0.1:$read_port   GET /read/{key}, /stats, /health
  actuator, no key, loopback only: http://127.0.0.1:{$(management_port_of write-service),$(management_port_of projector-service),$(management_port_of read-service)}/actuator/{health,prometheus}
  database logins: write-service $WRITE_DB_USER (reconciliation: $CQRS_RECONCILE_READ_DB_USER), projector-service $PROJECTOR_DB_USER, read-service $READ_DB_USER$( ((${#MANAGED[@]} == 0)) || printf '\n  (passwords of the roles up made: %s/, readable by you only)' "$ROLE_DIR")

EOF
  if [[ -f $KEY_DIR/setting && $CQRS_API_KEYS == "$(<"$KEY_DIR/setting")" ]]; then
    cat <<EOF
Every API call but GET /health needs 'Authorization: Bearer <key>'. The keys, one per scope, readable by you only:
$KEY_DIR/read, $KEY_DIR/write and $KEY_DIR/admin. Try:
  curl -s -X POST localhost:$write_port/write -H "Authorization: Bearer \$(cat $KEY_DIR/write)" -H 'Content-Type: application/json' -d '{"key":"hello","value":"world"}'
  curl -s 'localhost:$read_port/read/hello?min_version=1' -H "Authorization: Bearer \$(cat $KEY_DIR/read)"

EOF
  else
    printf 'Every API call but GET /health needs Authorization: Bearer <key>, with a key of CQRS_API_KEYS.\n\n'
  fi
  printf './stack.sh status | ./stack.sh logs [service] | ./stack.sh down\n'
}

# --- down, status, logs ---------------------------------------------------------------------------------------------

down() {
  local service pid stopping=()
  for service in $(service_names); do
    if pid=$(pid_of "$service"); then
      kill -TERM "$pid" 2>/dev/null || true
      stopping+=("$service:$pid")
      say "stopping $service (pid $pid)"
    else
      [[ -f $RUN_DIR/$service.pid ]] && say "$service was not running"
    fi
  done
  local deadline=$((SECONDS + STOP_TIMEOUT)) entry
  for entry in "${stopping[@]}"; do
    service=${entry%%:*}
    pid=${entry##*:}
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      say "$service (pid $pid) did not stop within ${STOP_TIMEOUT}s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    else
      say "$service stopped"
    fi
  done
  for service in $(service_names); do
    rm -f "$RUN_DIR/$service.pid" "$RUN_DIR/$service.port" "$RUN_DIR/$service.management-port"
  done
  ((${#stopping[@]} > 0)) || say "nothing to stop"
}

status() {
  local service pid port health any=1
  printf '%-18s %-8s %-6s %s\n' SERVICE PID PORT HEALTH
  for service in $(service_names); do
    port=$(port_of "$service")
    if pid=$(pid_of "$service"); then
      health=$(http_get "$(management_port_of "$service")" /actuator/health | grep -o '"status":"[A-Z_]*"' | head -n 1 | cut -d'"' -f4) || true
      printf '%-18s %-8s %-6s %s\n' "$service" "$pid" "$port" "${health:-not answering}"
    else
      printf '%-18s %-8s %-6s %s\n' "$service" - "$port" "not running"
      any=0
    fi
  done
  if pid=$(pid_of read-service) >/dev/null; then
    printf '\nread-service /health: %s\n' "$(http_get "$(port_of read-service)" /health || echo 'no answer')"
  fi
  ((any)) || return 3
}

logs() {
  local files=() service
  if (($# > 0)); then
    port_of "$1" >/dev/null
    files=("$RUN_DIR/$1.log")
  else
    for service in $(service_names); do files+=("$RUN_DIR/$service.log"); done
  fi
  for service in "${files[@]}"; do
    [[ -f $service ]] || fail "No log at $service: start the stack with ./stack.sh up"
  done
  exec tail -n 50 -F "${files[@]}"
}

load_settings
case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  logs)
    shift
    logs "$@"
    ;;
  *)
    cat >&2 <<'EOF'
usage: ./stack.sh up | down | status | logs [write-service|projector-service|read-service]
  up      build the jars if stale, create the databases and the services' roles if missing, start the three
          services (each with its own database login), wait until ready
  down    stop the services started by up (TERM, then KILL after STACK_STOP_TIMEOUT seconds)
  status  PID, port and health of each service
  logs    follow the services' logs (all, or one)
EOF
    exit 2
    ;;
esac
