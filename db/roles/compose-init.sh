#!/usr/bin/env bash
# Makes the services' logins in a compose PostgreSQL, with the SQL ./stack.sh runs (login.sql, database.sql, mounted
# at /cqrs-roles). docker-compose.yml mounts this file into /docker-entrypoint-initdb.d/, so it runs once, when the
# data directory is empty, as the image's superuser (POSTGRES_USER), in POSTGRES_DB.
#
# CQRS_ROLES: space-separated <role>:<variable holding its password>. The first role owns POSTGRES_DB; the others may
# connect to it (what they may do there, the projector grants: db/migrations/read/afterMigrate.sql).
set -euo pipefail

roles_dir=${CQRS_ROLES_DIR:-/cqrs-roles}
owner=
logins=
for entry in $CQRS_ROLES; do
  role=${entry%%:*}
  variable=${entry#*:}
  [[ -n ${!variable:-} ]] || {
    echo "cqrs roles: $variable (the password of $role) is empty" >&2
    exit 1
  }
  CQRS_ROLE_PASSWORD=${!variable} psql -X -q -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v role="$role" -f "$roles_dir/login.sql"
  if [[ -z $owner ]]; then
    owner=$role
  else
    logins+=${logins:+,}$role
  fi
done
psql -X -q -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner="$owner" -v logins="$logins" -f "$roles_dir/database.sql"
echo "cqrs roles: $owner owns $POSTGRES_DB${logins:+; $logins may connect}"
