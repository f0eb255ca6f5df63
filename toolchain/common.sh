# shellcheck shell=bash
# Shared by the toolchain build scripts (build.sh, build-k8s.sh); sourced, never run. Sets the Go
# environment they build in (the cache under ${APPSTACK_CACHE:-$HOME/.cache/appstack}, the module
# proxy only) and defines their log, die and timed helpers; `log_prefix` names the script in logs.

cache=${APPSTACK_CACHE:-$HOME/.cache/appstack}

log() { printf '[%s] %s\n' "${log_prefix:-toolchain}" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# timed NAME CMD...: runs CMD and prints how long it took.
timed() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  log "$name: $((SECONDS - start))s"
}

command -v go >/dev/null || die "go not found: install Go (toolchain/README.md)"
export GOTOOLCHAIN=local
export GOFLAGS="-mod=mod -buildvcs=false -trimpath"
export GOMODCACHE=$cache/go/mod
export GOCACHE=$cache/go/build
export CGO_ENABLED=0
# The checksum database is unreachable here; every module is still verified against the go.sum of
# the tree that requires it.
export GOSUMDB=off
# Only the module proxy, as configured: no fallback to version control, which is unreachable here.
GOPROXY=$(go env GOPROXY)
GOPROXY=${GOPROXY%%,*}
GOPROXY=${GOPROXY%%|*}
export GOPROXY

# moddir MODULE@VERSION: downloads a module through the proxy and prints its directory.
moddir() {
  local json dir
  json=$(go mod download -json "$1" 2>&1) || true
  dir=$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$json")
  if [[ -z $dir ]]; then
    log "the Go module proxy ($GOPROXY) did not serve $1:"
    printf '%s\n' "$json" >&2
    return 1
  fi
  printf '%s\n' "$dir"
}
