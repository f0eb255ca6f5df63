#!/usr/bin/env bash
# Entry point of appstack's PostgreSQL images, with the official image's contract:
#   POSTGRES_PASSWORD (required; or POSTGRES_PASSWORD_FILE)  password of POSTGRES_USER
#   POSTGRES_USER (default postgres; or _FILE)               superuser created by initdb
#   POSTGRES_DB   (default $POSTGRES_USER; or _FILE)         database created on first start
#   POSTGRES_INITDB_ARGS                                     extra initdb arguments
#   POSTGRES_LISTEN_ADDRESSES (default '*')                  where the server listens for TCP
#   PGPORT (default 5432)                                    the server's port (postgres reads it)
#   PGDATA (default /var/lib/postgresql/data)                the data directory (a volume)
# On first start (empty PGDATA) it runs initdb with scram-sha-256 for host connections, creates
# POSTGRES_DB and runs /docker-entrypoint-initdb.d/*.sql|*.sh against a server that listens on a
# private socket only, so health checks fail until the real server starts. Then it execs postgres.
set -euo pipefail

log() { printf 'docker-entrypoint: %s\n' "$*" >&2; }

# VAR or VAR_FILE (a file holding the value, e.g. a mounted secret); never both.
file_env() {
  local var="$1" default="${2:-}" file_var="${1}_FILE"
  if [[ -n "${!var:-}" && -n "${!file_var:-}" ]]; then
    log "both $var and $file_var are set; set only one"
    exit 1
  fi
  local value="$default"
  if [[ -n "${!var:-}" ]]; then
    value="${!var}"
  elif [[ -n "${!file_var:-}" ]]; then
    value="$(<"${!file_var}")"
  fi
  export "$var"="$value"
  unset "$file_var"
}

# `docker run IMAGE -c key=value` means `postgres -c key=value`.
if [[ "${1:-}" == -* ]]; then
  set -- postgres "$@"
fi

if [[ "${1:-}" != postgres ]]; then
  exec "$@"
fi

if [[ "$(id -u)" == 0 ]]; then
  # Started as root (`--user 0`, or a bind mount that postgres cannot write): fix ownership, drop.
  install -d -o postgres -g postgres -m 0700 "$PGDATA"
  install -d -o postgres -g postgres -m 3777 /var/run/postgresql
  chown -R postgres:postgres "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

file_env POSTGRES_USER postgres
file_env POSTGRES_PASSWORD
file_env POSTGRES_DB "$POSTGRES_USER"
export PGPORT="${PGPORT:-5432}"
listen="${POSTGRES_LISTEN_ADDRESSES:-*}"

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  if [[ -z "$POSTGRES_PASSWORD" ]]; then
    log "POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) must be set to initialise the database"
    exit 1
  fi
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  log "initialising $PGDATA for user $POSTGRES_USER"
  # The password reaches initdb through a file descriptor, never argv or the log.
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words on purpose
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
    ${POSTGRES_INITDB_ARGS:-} -D "$PGDATA" >/dev/null
  # Host connections from anywhere need the password (initdb only adds loopback lines).
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"

  private_socket="$(mktemp -d)"
  pg_ctl -D "$PGDATA" -w -t 60 -o "-c listen_addresses='' -c unix_socket_directories=$private_socket" \
    -l "$private_socket/init.log" start >/dev/null
  psql_init=(psql -v ON_ERROR_STOP=1 --no-psqlrc -q -h "$private_socket" -U "$POSTGRES_USER")
  if [[ "$POSTGRES_DB" != postgres ]]; then
    "${psql_init[@]}" -d postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  for script in /docker-entrypoint-initdb.d/*; do
    [[ -e "$script" ]] || continue
    case "$script" in
      *.sh) log "running $script" && PGHOST="$private_socket" bash "$script" ;;
      *.sql) log "running $script" && "${psql_init[@]}" -d "$POSTGRES_DB" -f "$script" ;;
      *) log "ignoring $script" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  rm -rf "$private_socket"
  log "initialised; starting the server"
fi

unset POSTGRES_PASSWORD
shift
exec postgres -c listen_addresses="$listen" -c unix_socket_directories=/var/run/postgresql "$@"
