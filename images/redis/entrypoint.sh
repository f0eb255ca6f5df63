#!/usr/bin/env bash
# Entry point of appstack's Redis image. Arguments work as in the official image:
#   docker run IMAGE --requirepass secret --port 6380   ->  redis-server --requirepass secret --port 6380
#   docker run IMAGE /etc/redis.conf --port 6380        ->  redis-server /etc/redis.conf --port 6380
# and, so that a password need not sit in the command line, settings may also come from env:
#   REDIS_PASSWORD (or REDIS_PASSWORD_FILE)  requirepass
#   REDIS_PORT                               port
#   REDIS_BIND                               bind (space-separated addresses)
# These reach redis-server as a config on stdin (`-`); options given as arguments win over them.
set -euo pipefail

if [[ "${1:-}" == -* || "${1:-}" == *.conf ]]; then
  set -- redis-server "$@"
fi
if [[ "${1:-}" != redis-server ]]; then
  exec "$@"
fi
shift

if [[ -n "${REDIS_PASSWORD:-}" && -n "${REDIS_PASSWORD_FILE:-}" ]]; then
  echo "docker-entrypoint: set REDIS_PASSWORD or REDIS_PASSWORD_FILE, not both" >&2
  exit 1
fi
password="${REDIS_PASSWORD:-}"
[[ -z "${REDIS_PASSWORD_FILE:-}" ]] || password="$(<"$REDIS_PASSWORD_FILE")"

config=()
if [[ "$password" == *[[:space:]\"\']* ]]; then
  echo "docker-entrypoint: REDIS_PASSWORD must not contain spaces or quotes" >&2
  exit 1
fi
[[ -z "$password" ]] || config+=("requirepass $password")
[[ -z "${REDIS_PORT:-}" ]] || config+=("port $REDIS_PORT")
[[ -z "${REDIS_BIND:-}" ]] || config+=("bind $REDIS_BIND")

conf_file=()
if [[ "${1:-}" == *.conf ]]; then
  conf_file=("$1")
  shift
fi
if [[ ${#config[@]} -eq 0 ]]; then
  exec redis-server "${conf_file[@]}" "$@"
fi
exec redis-server "${conf_file[@]}" - "$@" < <(printf '%s\n' "${config[@]}")
