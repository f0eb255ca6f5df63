# Shared by images/build.sh and images/smoke.sh (sourced, not run): paths, pinned versions and the
# image tags. The tags are the names the `ci` stack deploys; change them here only.
# shellcheck shell=bash

images_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$images_dir")"
# shellcheck source=../toolchain/versions.env
source "$repo_dir/toolchain/versions.env"
python_bin="${PYTHON:-$repo_dir/.venv/bin/python}"

DEBIAN_RELEASE=bookworm
BASE_TAG="appstack/debian:$DEBIAN_RELEASE"
PYTHON_TAG="appstack/python:3.11-$DEBIAN_RELEASE"
# Under a pgvector repository name, so the policies that admit only pgvector images apply.
PGVECTOR_TAG="pgvector/pgvector:pg18-appstack"
# Deliberately without pgvector: the image the hostile tests try to deploy.
POSTGRES_PLAIN_TAG="postgres:15-$DEBIAN_RELEASE-appstack"
REDIS_TAG="appstack/redis:7-$DEBIAN_RELEASE"
MINIO_TAG="appstack/minio:$MINIO_RELEASE"
BACKEND_TAG="appstack/backend:ci"
