#!/usr/bin/env bash
# The whole stack on this machine, without Docker: ./stack.sh up | down | status | logs [service] | train
#
# `up` builds the jars when they are missing or older than the sources, checks that PostgreSQL and Redis answer,
# gives each service a database login of its own (creating the roles and the two databases when missing, each
# database owned by the service that migrates it), generates API keys on the first run (unless CQRS_API_KEYS is set),
# starts write-service, projector-service and read-service in the background (logs, PID files, keys and passwords in
# .run/) and waits until all three are ready. `down` stops exactly the processes `up` started. `train` makes each
# service's AOT cache (JDK 25) from a run under load; `up` starts a service with its cache when the cache is current.
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
# what they may do there the projector grants after migrating it (db/migrations/read/afterMigrate.sql); rebuilder
# (the projector's rebuild) may only connect to the write database, and what it may read there the write service
# grants after migrating it (db/migrations/write/afterMigrate.sql).
readonly LOGINS=(
  WRITE_DB_USER:WRITE_DB_PASSWORD:write
  PROJECTOR_DB_USER:PROJECTOR_DB_PASSWORD:projector
  READ_DB_USER:READ_DB_PASSWORD:reader
  CQRS_RECONCILE_READ_DB_USER:CQRS_RECONCILE_READ_DB_PASSWORD:reconciler
  CQRS_REBUILD_WRITE_DB_USER:CQRS_REBUILD_WRITE_DB_PASSWORD:rebuilder
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
  # The projector's rebuild reads the same write database unless told otherwise.
  export CQRS_REBUILD_WRITE_DB_URL=${CQRS_REBUILD_WRITE_DB_URL:-$WRITE_DB_URL}
  export READ_DB_URL=${READ_DB_URL:-jdbc:postgresql://127.0.0.1:5432/cqrs_read}
  export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
  # Log format, as compose takes it: empty or "plain" for text, else one of Boot's structured formats (ecs, logstash,
  # gelf), which the services read from LOG_FORMAT themselves.
  case ${LOG_FORMAT:-} in
    '' | plain) export LOG_FORMAT= ;;
    ecs | logstash | gelf) export LOG_FORMAT ;;
    *) fail "LOG_FORMAT '$LOG_FORMAT' is none of plain, ecs, logstash, gelf." ;;
  esac
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
  # The whole heap from the start: G1 grown only as far as it needs ran a concurrent marking cycle twice a second under
  # steady reads (the live set sat above its threshold of the small heap), -Xms = -Xmx cut the read service's CPU per
  # read by a sixth (bench/RESULTS.md, "The heap, all of it from the start").
  JAVA_OPTS=${STACK_JAVA_OPTS:--Xms256m -Xmx256m -XX:+ExitOnOutOfMemoryError}
  # The read service's heap is mostly its near cache and read counts (about 90-105 MB live with 100k keys): with a young
  # generation as large as G1 likes (150 MB of 256), G1's marking threshold sat below that live set, so it marked once
  # a second with an 11-21 ms remark pause, the read tail's largest part. 96 MB of young generation keep the threshold
  # above it (README, "Design decisions"; bench/RESULTS.md).
  READ_JAVA_OPTS=${STACK_READ_JAVA_OPTS--XX:MaxNewSize=96m}
  AOT_DIR=$RUN_DIR/aot
  TRAIN_STOP_TIMEOUT=${STACK_TRAIN_STOP_TIMEOUT:-300}
  TRAINING=false
  [[ ${STACK_AOT:-auto} =~ ^(auto|off)$ ]] || fail "STACK_AOT is '$STACK_AOT': auto (use a current AOT cache) or off"
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

pid_of() { # the PID `up` recorded for <service>, if that process still runs our jar (a reused PID is not ours); the
  # jar's name, since a service with an AOT cache runs the copy extracted into .run/aot/<service>/
  local file=$RUN_DIR/$1.pid pid
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "/$(basename "$(jar_of "$1")")" || return 1
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
  admin+=" every service its login (WRITE_DB_USER, PROJECTOR_DB_USER, READ_DB_USER, CQRS_RECONCILE_READ_DB_USER,"
  admin+=" CQRS_REBUILD_WRITE_DB_USER and their *_PASSWORD) to have none created"
  parse_jdbc "$WRITE_DB_URL"
  if managed WRITE_DB_USER || managed CQRS_REBUILD_WRITE_DB_USER; then
    check_server "$DB_HOST" "$DB_PORT" "$ADMIN_USER" "$ADMIN_PASSWORD" "$admin"
    ! managed CQRS_REBUILD_WRITE_DB_USER ||
      ensure_login "$DB_HOST" "$DB_PORT" CQRS_REBUILD_WRITE_DB_USER CQRS_REBUILD_WRITE_DB_PASSWORD
  fi
  if managed WRITE_DB_USER; then
    ensure_login "$DB_HOST" "$DB_PORT" WRITE_DB_USER WRITE_DB_PASSWORD
    ensure_database "$DB_HOST" "$DB_PORT" "$DB_NAME" "$ADMIN_USER" "$ADMIN_PASSWORD" "$WRITE_DB_USER"
    own_database "$DB_HOST" "$DB_PORT" "$DB_NAME" "$WRITE_DB_USER" "$CQRS_REBUILD_WRITE_DB_USER"
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
  # also the names (not the passwords) of the logins it grants the read model to, for the write service the name of
  # the one it grants the write database's tables to.
  case $1 in
    write-service) echo WRITE_DB_USER WRITE_DB_PASSWORD CQRS_RECONCILE_READ_DB_USER CQRS_RECONCILE_READ_DB_PASSWORD \
      CQRS_REBUILD_WRITE_DB_USER ;;
    projector-service) echo PROJECTOR_DB_USER PROJECTOR_DB_PASSWORD READ_DB_USER CQRS_RECONCILE_READ_DB_USER \
      CQRS_REBUILD_WRITE_DB_USER CQRS_REBUILD_WRITE_DB_PASSWORD ;;
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
  launch_options "$service"
  local options=$JAVA_OPTS
  [[ $service != read-service ]] || options+=" $READ_JAVA_OPTS"
  # shellcheck disable=SC2086 # options holds several options on purpose
  SERVER_PORT=$port MANAGEMENT_PORT=$management nohup env "${logins[@]}" \
    "$JAVA" $options "${LAUNCH[@]}" >"$RUN_DIR/$service.log" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$RUN_DIR/$service.pid"
  printf '%s\n' "$port" >"$RUN_DIR/$service.port"
  printf '%s\n' "$management" >"$RUN_DIR/$service.management-port"
  say "started $service (pid $pid, port $port, management port $management, log $RUN_DIR/$service.log)"
  say "  $LAUNCH_NOTE"
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

# --- AOT cache ------------------------------------------------------------------------------------------------------
# A JDK 25 AOT cache holds a service's classes loaded and linked, and the method profiles of a training run, so that
# the JIT compiles the hot paths from the first requests on (README, "Start-up and the AOT cache"). The JVM only uses it
# for the classpath it was made for, and the classes in a Spring Boot jar's nested jars cannot be cached: `train`
# extracts each jar into .run/aot/<service>/ (the jar of the same name there, its libraries in lib/), runs that
# under load with -XX:AOTCacheOutput and keeps, beside the cache, the sha256 of the jar it extracted and the JDK it ran
# on. `up` uses the cache only while both are still those of now; a cache the JVM rejects anyway (damaged, other
# options) it reports in the service's log and runs without it (-XX:AOTMode=auto), never failing the start.

aot_home() { printf '%s\n' "$AOT_DIR/$1"; } # aot_home <service>: its extracted jar, its cache and their stamps

jdk_build() { # the JDK's vendor, version and home: a cache from another JDK build is rejected by the JVM
  "$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *\(java\.vm\.vendor\|java\.vm\.version\|java\.home\) = //p'
}

aot_feature() { # true when the JDK has the one-step AOT cache (JEP 514, JDK 25)
  (($(cqrs_java_feature "$JAVA") >= 25))
}

aot_state() { # aot_state <service>: prints "current", or why its cache is not used
  local home jar
  home=$(aot_home "$1")
  jar=$(jar_of "$1")
  if ! aot_feature; then
    echo "no AOT cache: the JDK is older than 25"
  elif [[ ! -s $home/$1.aot || ! -f $home/jar.sha256 || ! -f $home/jdk ]]; then
    echo "no AOT cache ($home/$1.aot): ./stack.sh train makes one"
  elif [[ $(sha256sum "$jar" | cut -d' ' -f1) != "$(<"$home/jar.sha256")" ]]; then
    echo "AOT cache not used: it was made for an earlier build of $jar (./stack.sh train makes a new one)"
  elif [[ $(jdk_build) != "$(<"$home/jdk")" ]]; then
    echo "AOT cache not used: it was made on another JDK (./stack.sh train makes a new one)"
  else
    echo current
  fi
}

launch_options() { # launch_options <service>: sets LAUNCH (the java arguments after JAVA_OPTS) and LAUNCH_NOTE
  local service=$1 home state
  home=$(aot_home "$service")
  if $TRAINING; then
    LAUNCH=(-XX:AOTCacheOutput="$home/$service.aot" -jar "$home/$(basename "$(jar_of "$service")")")
    LAUNCH_NOTE="training: writes its AOT cache $home/$service.aot when it stops"
    return
  fi
  state=$(aot_state "$service")
  [[ ${STACK_AOT:-auto} != off || $state != current ]] || state="AOT cache not used (STACK_AOT=off)"
  if [[ $state == current ]]; then
    LAUNCH=(-XX:AOTMode=auto -XX:AOTCache="$home/$service.aot" -jar "$home/$(basename "$(jar_of "$service")")")
    LAUNCH_NOTE="with its AOT cache $home/$service.aot ($(du -h "$home/$service.aot" | cut -f1))"
  else
    LAUNCH=(-jar "$(jar_of "$service")")
    LAUNCH_NOTE=$state
  fi
}

extract_jar() { # extract_jar <service>: a fresh extracted copy of its jar in .run/aot/<service>/, without a cache
  local service=$1 home jar
  home=$(aot_home "$service")
  jar=$(jar_of "$service")
  rm -rf "$home"
  mkdir -p "$home"
  "$JAVA" -Djarmode=tools -jar "$jar" extract --destination "$home" >/dev/null ||
    fail "Cannot extract $jar into $home (see above)."
  # The stamps are written once the cache is: until then the folder holds no usable cache.
  sha256sum "$jar" | cut -d' ' -f1 >"$home/jar.sha256.pending"
  jdk_build >"$home/jdk.pending"
}

train() {
  mkdir -p "$RUN_DIR"
  local service
  for service in $(service_names); do
    ! pid_of "$service" >/dev/null || fail "$service runs: training starts the services itself. ./stack.sh down first."
  done
  command -v curl >/dev/null || fail "curl is needed to check the services' health: apt-get install curl"
  command -v wrk >/dev/null || fail "wrk is needed to load the services during training: apt-get install wrk"
  select_java
  aot_feature || fail "The AOT cache needs JDK 25 or newer; $JAVA is Java $(cqrs_java_feature "$JAVA")."
  prepare
  TRAINING=true
  for service in $(service_names); do extract_jar "$service"; done
  say "extracted the jars into $AOT_DIR/; starting the services in training mode"
  start_all
  local seconds=${STACK_TRAIN_SECONDS:-180} keys=$KEY_DIR
  say "training: ${seconds}s of load through every API path (bench/train.sh)"
  local loaded=true
  WRITE_PORT=$(port_of write-service) READ_PORT=$(port_of read-service) \
    WRITE_KEY=${STACK_TRAIN_WRITE_KEY:-$(cat "$keys/write" 2>/dev/null || true)} \
    READ_KEY=${STACK_TRAIN_READ_KEY:-$(cat "$keys/read" 2>/dev/null || true)} \
    bench/train.sh "$seconds" || loaded=false
  say "stopping the services: each JVM writes its AOT cache as it exits (up to ${TRAIN_STOP_TIMEOUT}s)"
  STOP_TIMEOUT=$TRAIN_STOP_TIMEOUT down
  $loaded || fail "The training load failed (see above); the caches were not kept. Fix it and run ./stack.sh train again."
  local home made=0
  for service in $(service_names); do
    home=$(aot_home "$service")
    if [[ -s $home/$service.aot ]] && grep -q 'AOTCache creation is complete' "$RUN_DIR/$service.log"; then
      mv "$home/jar.sha256.pending" "$home/jar.sha256"
      mv "$home/jdk.pending" "$home/jdk"
      say "$service: AOT cache $home/$service.aot, $(du -h "$home/$service.aot" | cut -f1)"
      made=$((made + 1))
    else
      rm -f "$home/$service.aot"
      say "$service: no AOT cache was written (see the end of $RUN_DIR/$service.log)"
    fi
  done
  ((made == 3)) || fail "Not every service wrote its AOT cache; ./stack.sh up runs those without one from the plain jar."
  say "./stack.sh up now starts each service with its AOT cache; train again after a new build or another JDK"
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

prepare() { # what the services need before they start: Redis, the databases and logins, free ports, keys, the jars
  ensure_redis
  prepare_databases
  local service
  for service in $(service_names); do check_port "$service"; done
  ensure_api_keys
  build_if_needed
}

start_all() {
  # The projector migrates the read database, so the read service starts once the projector is ready.
  start_service write-service
  start_service projector-service
  await_ready projector-service
  start_service read-service
  await_ready write-service
  await_ready read-service
}

up() {
  mkdir -p "$RUN_DIR"
  command -v curl >/dev/null || fail "curl is needed to check the services' health: apt-get install curl"
  select_java
  prepare
  start_all
  local write_port read_port
  write_port=$(port_of write-service)
  read_port=$(port_of read-service)
  cat <<EOF

The stack is up (java: $JAVA):
  write-service      http://127.0.0.1:$write_port   POST /write, DELETE /write/{key}, GET /stats
  projector-service  http://127.0.0.1:$(port_of projector-service)   no API of its own (/livez, /readyz)
  read-service       http://127.0.0.1:$read_port   GET /read/{key}, /stats, /health
  actuator, no key, loopback only: http://127.0.0.1:{$(management_port_of write-service),$(management_port_of projector-service),$(management_port_of read-service)}/actuator/{health,prometheus}
  database logins: write-service $WRITE_DB_USER (reconciliation: $CQRS_RECONCILE_READ_DB_USER), projector-service $PROJECTOR_DB_USER (rebuild: $CQRS_REBUILD_WRITE_DB_USER), read-service $READ_DB_USER$( ((${#MANAGED[@]} == 0)) || printf '\n  (passwords of the roles up made: %s/, readable by you only)' "$ROLE_DIR")

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
  train) train ;;
  status) status ;;
  logs)
    shift
    logs "$@"
    ;;
  *)
    cat >&2 <<'EOF'
usage: ./stack.sh up | down | status | logs [write-service|projector-service|read-service] | train
  up      build the jars if stale, create the databases and the services' roles if missing, start the three
          services (each with its own database login), wait until ready
  down    stop the services started by up (TERM, then KILL after STACK_STOP_TIMEOUT seconds)
  status  PID, port and health of each service
  logs    follow the services' logs (all, or one)
  train   make each service's AOT cache (JDK 25): run it under load for STACK_TRAIN_SECONDS (180), stop it;
          up then starts each service with its cache while the jar and the JDK are those it was made with
EOF
    exit 2
    ;;
esac
