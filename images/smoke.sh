#!/usr/bin/env bash
# Prove that each locally built image works, with real containers on loopback ports.
#
#   images/smoke.sh [pgvector|postgres-plain|redis|minio|backend]...   (default: all of them)
#   (after images/build.sh all, with a Docker engine running)
#
# Starts containers named appstack-smoke-<role>-<pid> with host networking, bound to 127.0.0.1 on
# free ports, and removes them (and their volumes) on exit, whatever happens. Checks, from the host:
#   pgvector image   accepts the generated password, refuses a wrong one, CREATE EXTENSION vector works
#   plain postgres   starts and is healthy, but CREATE EXTENSION vector fails ("not available")
#   redis            PING answers PONG with the password and NOAUTH without it
#   minio            /minio/health/live and /minio/health/ready answer 200; `mc ready local` too
#   backend          wired to the three, with its bucket created, /health answers 200
# Every container must also reach Docker's "healthy" through the image's own HEALTHCHECK.
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

failures=0

log() { printf 'smoke.sh: %s\n' "$*" >&2; }
pass() { printf 'PASS %s\n' "$*"; }
fail() {
  printf 'FAIL %s\n' "$*"
  failures=$((failures + 1))
}

# Containers of this run only: their names end in this shell's PID.
cleanup() {
  local ids
  ids="$(docker ps -aq --filter "name=^appstack-smoke-.*-$$\$")"
  [[ -z "$ids" ]] || docker rm -f -v $ids >/dev/null
}
trap cleanup EXIT

free_port() {
  "$python_bin" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

secret() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# run ROLE IMAGE [docker run options...] -- [command args...]
run() {
  local role="$1" image="$2" name="appstack-smoke-$1-$$"
  shift 2
  local opts=()
  while [[ $# -gt 0 && "$1" != -- ]]; do
    opts+=("$1")
    shift
  done
  [[ $# -gt 0 ]] && shift
  docker run -d --name "$name" --network host "${opts[@]}" "$image" "$@" >/dev/null
  printf '%s\n' "$name"
}

# Wait until Docker reports the container healthy (its image's HEALTHCHECK), bounded.
wait_healthy() {
  local name="$1" timeout="${2:-90}" status="" deadline=$((SECONDS + ${2:-90})) begin=$SECONDS
  while ((SECONDS < deadline)); do
    status="$(docker inspect --format '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$name")"
    case "$status" in
      "running healthy")
        pass "$name healthy after $((SECONDS - begin))s"
        return 0
        ;;
      exited* | dead*) break ;;
    esac
    sleep 0.5
  done
  fail "$name not healthy within ${timeout}s (status: $status); last log lines:"
  docker logs --tail 15 "$name" 2>&1 | sed 's/^/    /'
  return 1
}

check_pgvector() {
  local port password name
  port="$(free_port)"
  password="$(secret)"
  name="$(run pgvector "$PGVECTOR_TAG" -e POSTGRES_USER=appstack -e POSTGRES_DB=appstack \
    -e POSTGRES_PASSWORD="$password" -e PGPORT="$port" -e POSTGRES_LISTEN_ADDRESSES=127.0.0.1 --)"
  wait_healthy "$name" || return 0
  if PGPASSWORD="$password" PORT="$port" "$python_bin" - <<'EOF'; then
import os, psycopg
dsn = f"host=127.0.0.1 port={os.environ['PORT']} dbname=appstack user=appstack password={os.environ['PGPASSWORD']}"
with psycopg.connect(dsn, autocommit=True) as conn:
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
    distance = conn.execute("SELECT '[1,2,3]'::vector <-> '[1,2,5]'::vector").fetchone()[0]
    server = conn.execute("SHOW server_version").fetchone()[0]
assert distance == 2.0, distance
print(f"    PostgreSQL {server}, pgvector {version}, L2 distance {distance}")
EOF
    pass "pgvector: password login, CREATE EXTENSION vector"
  else
    fail "pgvector: password login or CREATE EXTENSION vector"
  fi
  if PORT="$port" "$python_bin" - <<'EOF'; then
import os, psycopg
try:
    psycopg.connect(f"host=127.0.0.1 port={os.environ['PORT']} dbname=appstack user=appstack password=wrong")
except psycopg.OperationalError as err:
    assert "password authentication failed" in str(err), err
else:
    raise SystemExit("a wrong password was accepted")
EOF
    pass "pgvector: wrong password refused (scram-sha-256)"
  else
    fail "pgvector: wrong password not refused"
  fi
}

check_postgres_plain() {
  local port password name
  port="$(free_port)"
  password="$(secret)"
  name="$(run postgres-plain "$POSTGRES_PLAIN_TAG" -e POSTGRES_PASSWORD="$password" \
    -e PGPORT="$port" -e POSTGRES_LISTEN_ADDRESSES=127.0.0.1 --)"
  wait_healthy "$name" || return 0
  if PGPASSWORD="$password" PORT="$port" "$python_bin" - <<'EOF'; then
import os, psycopg
dsn = f"host=127.0.0.1 port={os.environ['PORT']} dbname=postgres user=postgres password={os.environ['PGPASSWORD']}"
with psycopg.connect(dsn, autocommit=True) as conn:
    server = conn.execute("SHOW server_version").fetchone()[0]
    try:
        conn.execute("CREATE EXTENSION vector")
    except psycopg.errors.FeatureNotSupported as err:
        assert 'extension "vector" is not available' in str(err), err
        print(f"    PostgreSQL {server}: {str(err).splitlines()[0]}")
    else:
        raise SystemExit("CREATE EXTENSION vector worked on the plain image")
EOF
    pass "postgres-plain: healthy but has no pgvector"
  else
    fail "postgres-plain: expected CREATE EXTENSION vector to fail"
  fi
}

check_redis() {
  local port password name
  port="$(free_port)"
  password="$(secret)"
  name="$(run redis "$REDIS_TAG" -e REDIS_PASSWORD="$password" -e REDIS_PORT="$port" \
    -e REDIS_BIND=127.0.0.1 -- --save '' --appendonly no)"
  wait_healthy "$name" || return 0
  if PASSWORD="$password" PORT="$port" "$python_bin" - <<'EOF'; then
import os, redis
port = int(os.environ["PORT"])
assert redis.Redis(host="127.0.0.1", port=port, password=os.environ["PASSWORD"]).ping() is True
try:
    redis.Redis(host="127.0.0.1", port=port).ping()
except redis.exceptions.AuthenticationError as err:
    print(f"    without password: {err}")
else:
    raise SystemExit("PING without password was answered")
EOF
    pass "redis: PING with password, refused without"
  else
    fail "redis: PING with password / NOAUTH without"
  fi
}

check_minio() {
  local port console user password name
  port="$(free_port)"
  console="$(free_port)"
  user="smoke$(secret | cut -c1-8)"
  password="$(secret)"
  name="$(run minio "$MINIO_TAG" -e MINIO_ROOT_USER="$user" -e MINIO_ROOT_PASSWORD="$password" \
    -e MINIO_ADDRESS="127.0.0.1:$port" -e MINIO_CONSOLE_ADDRESS="127.0.0.1:$console" --)"
  wait_healthy "$name" || return 0
  if PORT="$port" "$python_bin" - <<'EOF'; then
import os, urllib.request
for path in ("/minio/health/live", "/minio/health/ready"):
    with urllib.request.urlopen(f"http://127.0.0.1:{os.environ['PORT']}{path}", timeout=5) as response:
        assert response.status == 200, (path, response.status)
        print(f"    {path}: {response.status}")
EOF
    pass "minio: health endpoints answer 200"
  else
    fail "minio: health endpoints"
  fi
  # appstack's default health check, as the official image answers it.
  if docker exec -e "MC_HOST_local=http://$user:$password@127.0.0.1:$port" "$name" mc ready local; then
    pass "minio: 'mc ready local' answers"
  else
    fail "minio: 'mc ready local'"
  fi
}

check_backend() {
  local db_port db_password redis_port redis_password s3_port s3_console s3_user s3_password
  db_port="$(free_port)"
  db_password="$(secret)"
  redis_port="$(free_port)"
  redis_password="$(secret)"
  s3_port="$(free_port)"
  s3_console="$(free_port)"
  s3_user="smoke$(secret | cut -c1-8)"
  s3_password="$(secret)"
  local db redis minio backend port
  db="$(run backend-db "$PGVECTOR_TAG" -e POSTGRES_USER=appstack -e POSTGRES_DB=appstack \
    -e POSTGRES_PASSWORD="$db_password" -e PGPORT="$db_port" -e POSTGRES_LISTEN_ADDRESSES=127.0.0.1 --)"
  redis="$(run backend-redis "$REDIS_TAG" -e REDIS_PASSWORD="$redis_password" \
    -e REDIS_PORT="$redis_port" -e REDIS_BIND=127.0.0.1 --)"
  minio="$(run backend-minio "$MINIO_TAG" -e MINIO_ROOT_USER="$s3_user" \
    -e MINIO_ROOT_PASSWORD="$s3_password" -e MINIO_ADDRESS="127.0.0.1:$s3_port" \
    -e MINIO_CONSOLE_ADDRESS="127.0.0.1:$s3_console" --)"
  wait_healthy "$db" && wait_healthy "$redis" && wait_healthy "$minio" || return 0
  S3="127.0.0.1:$s3_port" S3_USER="$s3_user" S3_PASSWORD="$s3_password" "$python_bin" - <<'EOF'
import os
from minio import Minio
client = Minio(os.environ["S3"], os.environ["S3_USER"], os.environ["S3_PASSWORD"], secure=False)
if not client.bucket_exists("smoke-assets"):
    client.make_bucket("smoke-assets")
EOF
  port="$(free_port)"
  backend="$(run backend "$BACKEND_TAG" -e HOST=127.0.0.1 -e PORT="$port" \
    -e DATABASE_URL="postgresql+psycopg://appstack:$db_password@127.0.0.1:$db_port/appstack" \
    -e REDIS_URL="redis://:$redis_password@127.0.0.1:$redis_port/0" \
    -e S3_ENDPOINT="127.0.0.1:$s3_port" -e S3_ACCESS_KEY="$s3_user" -e S3_SECRET_KEY="$s3_password" \
    -e S3_BUCKET_ASSETS=smoke-assets -e CORS_ORIGINS=http://127.0.0.1:3000 --)"
  wait_healthy "$backend" 120 || return 0
  if PORT="$port" "$python_bin" - <<'EOF'; then
import json, os, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{os.environ['PORT']}/health", timeout=10) as response:
    body = json.loads(response.read())
    assert response.status == 200, response.status
print(f"    /health: {response.status} {json.dumps(body)[:300]}")
EOF
    pass "backend: /health answers 200 with its dependencies up"
  else
    fail "backend: /health"
  fi
}

docker info >/dev/null 2>&1 || {
  log "no Docker engine answers: run scripts/dockerd.sh start"
  exit 1
}
checks=("$@")
[[ ${#checks[@]} -gt 0 ]] || checks=(pgvector postgres-plain redis minio backend)
needed=()
for check in "${checks[@]}"; do
  case "$check" in
    pgvector) needed+=("$PGVECTOR_TAG") ;;
    postgres-plain) needed+=("$POSTGRES_PLAIN_TAG") ;;
    redis) needed+=("$REDIS_TAG") ;;
    minio) needed+=("$MINIO_TAG") ;;
    backend) needed+=("$BACKEND_TAG" "$PGVECTOR_TAG" "$REDIS_TAG" "$MINIO_TAG") ;;
    *) log "unknown check '$check'" && exit 2 ;;
  esac
done
for image in "${needed[@]}"; do
  docker image inspect "$image" >/dev/null 2>&1 || {
    log "image $image is missing: run images/build.sh first"
    exit 1
  }
done
for check in "${checks[@]}"; do "check_${check//-/_}"; done
if ((failures > 0)); then
  log "$failures check(s) failed"
  exit 1
fi
log "all checks passed"
