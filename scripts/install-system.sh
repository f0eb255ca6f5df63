#!/usr/bin/env bash
# Install the system packages appstack's tests and tools need on a fresh Debian bookworm machine.
#   postgresql-15  the honest "wrong image": a PostgreSQL without pgvector (tests/real)
#   redis-server   a real Redis for the backend's /health and verify tests
#   docker.io      the engine for local images (images/, scripts/dockerd.sh)
#   debootstrap    the Debian base image for local images
#   curl           health probes in scripts
#   containerd     the container runtime of the local Kubernetes cluster (scripts/k8s-cluster.sh)
#   runc           its OCI runtime (both also come with docker.io; listed because the cluster uses them directly)
#   openssh-server the sshd tests/e2e/test_remote_stack.py starts on a loopback port of its own
#                  (its package service is never started here: see policy-rc.d below)
#   socat          the TLS front (client certificates required) tests/e2e/test_tls_stack.py puts
#                  before the local engine on a loopback port of its own
# Never install postgresql-15-pgvector: the no-pgvector tests rely on its absence.
set -euo pipefail
packages=(postgresql-15 redis-server docker.io debootstrap curl containerd runc openssh-server socat)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "install-system: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # No package may start its service (sshd on 0.0.0.0:22, redis, postgres): only the tests start
  # servers, on loopback. Debian asks /usr/sbin/policy-rc.d; one is put there for the install
  # when the machine has none, and removed afterwards.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-system: ${packages[*]} already installed" >&2
fi
