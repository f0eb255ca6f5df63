#!/usr/bin/env bash
# Health check of appstack's Redis image: healthy only when the server answers PING with PONG
# (redis-cli exits 0 even on a NOAUTH error, so its reply is checked, not its status).
# Port: REDIS_PORT (default 6379). Password: REDISCLI_AUTH, REDIS_PASSWORD or REDIS_PASSWORD_FILE.
# (The server's command line cannot be read back: redis-server rewrites its process title.)
set -euo pipefail

auth="${REDISCLI_AUTH:-${REDIS_PASSWORD:-}}"
if [[ -z "$auth" && -n "${REDIS_PASSWORD_FILE:-}" ]]; then auth="$(<"$REDIS_PASSWORD_FILE")"; fi
reply="$(REDISCLI_AUTH="$auth" redis-cli -p "${REDIS_PORT:-6379}" ping 2>&1 || true)"
if [[ "$reply" != PONG ]]; then
  echo "redis ping: $reply"
  exit 1
fi
