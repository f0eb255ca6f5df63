#!/usr/bin/env bash
# Install the system packages appstack's tests and tools need on a fresh Debian bookworm machine.
#   postgresql-15  the honest "wrong image": a PostgreSQL without pgvector (tests/real)
#   redis-server   a real Redis for the backend's /health and verify tests
#   docker.io      the engine for local images (images/, scripts/dockerd.sh)
#   debootstrap    the Debian base image for local images
#   curl           health probes in scripts
#   containerd     the container runtime of the local Kubernetes cluster (scripts/k8s-cluster.sh)
#   runc           its OCI runtime (both also come with docker.io; listed because the cluster uses them directly)
# Never install postgresql-15-pgvector: the no-pgvector tests rely on its absence.
set -euo pipefail
packages=(postgresql-15 redis-server docker.io debootstrap curl containerd runc)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "install-system: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-system: ${packages[*]} already installed" >&2
fi
