#!/usr/bin/env bash
# `make e2e`: the whole platform under the real engine, on the local Docker engine.
#
# Starts the engine when none answers (scripts/dockerd.sh: no bridge, no iptables, loopback only)
# and stops it again at the end, also on failure, only if this run started it; builds the local
# images (images/build.sh, cached by their inputs); runs the tests marked e2e (tests/e2e), which
# tear down every stack and container they create. Extra arguments go to pytest.
# APPSTACK_E2E_MARKERS chooses the tests (default: all of them, the Kubernetes stack included,
# which needs `make k8s`; `make e2e-k8s` runs only that one), APPSTACK_E2E_PATHS where they are
# (default tests/e2e; `make test-k8s` runs tests/k8s, which imports images from the engine, this way).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

log() { printf '[e2e] %s\n' "$*" >&2; }
started_engine=0
stop_engine() {
  if ((started_engine)); then
    bash scripts/dockerd.sh stop
  fi
}
trap stop_engine EXIT

if ! docker info >/dev/null 2>&1; then
  bash scripts/dockerd.sh start
  started_engine=1
fi
start=$SECONDS
bash images/build.sh all
log "images ready in $((SECONDS - start))s"
start=$SECONDS
read -r -a paths <<<"${APPSTACK_E2E_PATHS:-tests/e2e}"
.venv/bin/python -m pytest -q -m "${APPSTACK_E2E_MARKERS:-e2e}" "${paths[@]}" "$@"
log "tests finished in $((SECONDS - start))s"
