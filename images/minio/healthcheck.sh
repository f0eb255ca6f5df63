#!/usr/bin/env bash
# Health check of appstack's MinIO image: the server's readiness endpoint answers 200.
# The port is taken from MINIO_ADDRESS ([host]:port, default :9000); the check goes to 127.0.0.1
# unless MINIO_ADDRESS names a host.
set -euo pipefail

address="${MINIO_ADDRESS:-:9000}"
host="${address%:*}"
port="${address##*:}"
exec curl --fail --silent --show-error --max-time 4 --output /dev/null \
  "http://${host:-127.0.0.1}:${port}/minio/health/ready"
