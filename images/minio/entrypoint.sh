#!/usr/bin/env bash
# Entry point of appstack's MinIO image.
#   docker run IMAGE                                  -> minio server /data --address $MINIO_ADDRESS --console-address $MINIO_CONSOLE_ADDRESS
#   docker run IMAGE server /data --address 127.0.0.1:9000 --console-address 127.0.0.1:9001
#                                                     -> minio server /data --address ... (given flags win)
# MINIO_ROOT_USER / MINIO_ROOT_PASSWORD are read by minio itself (the root credentials).
# MINIO_ADDRESS (default :9000) and MINIO_CONSOLE_ADDRESS (default :9001) fill in the flags that
# are not given; the health check (minio-healthcheck) probes the resulting --address.
set -euo pipefail

if [[ "${1:-}" == -* || "${1:-}" == server ]]; then
  set -- minio "$@"
fi
if [[ "${1:-}" != minio || "${2:-}" != server ]]; then
  exec "$@"
fi

has_flag() {
  local flag="$1" arg
  shift
  for arg in "$@"; do
    [[ "$arg" == "$flag" || "$arg" == "$flag="* ]] && return 0
  done
  return 1
}

if ! has_flag --address "$@"; then set -- "$@" --address "${MINIO_ADDRESS:-:9000}"; fi
if ! has_flag --console-address "$@"; then set -- "$@" --console-address "${MINIO_CONSOLE_ADDRESS:-:9001}"; fi
exec "$@"
