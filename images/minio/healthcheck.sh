#!/usr/bin/env bash
# Health check of appstack's MinIO image: the server's readiness endpoint answers 200.
# The address is the server's own `--address` (read from PID 1's command line; the entry point
# always passes it), else MINIO_ADDRESS, else :9000. An address without a host is checked on
# 127.0.0.1.
set -euo pipefail

address=""
mapfile -d '' -t argv </proc/1/cmdline || true
for ((i = 0; i < ${#argv[@]}; i++)); do
  case "${argv[i]}" in
    --address=*) address="${argv[i]#--address=}" ;;
    --address) address="${argv[i + 1]:-}" ;;
  esac
done
address="${address:-${MINIO_ADDRESS:-:9000}}"
host="${address%:*}"
port="${address##*:}"
exec curl --fail --silent --show-error --max-time 4 --output /dev/null \
  "http://${host:-127.0.0.1}:${port}/minio/health/ready"
