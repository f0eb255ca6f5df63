#!/usr/bin/env bash
# Builds appstack's Pulumi toolchain from Go sources fetched through the Go module proxy and caches
# it under ${APPSTACK_CACHE:-$HOME/.cache/appstack}, keyed by the versions in toolchain/versions.env.
# A rerun reuses the cache and takes seconds. Nothing is written into the repository.
#
# Pieces (each timed):
#   pulumi-<v>/bin/pulumi                          the CLI, from github.com/pulumi/pulumi/pkg/v3
#   pulumi-<v>/bin/pulumi-language-python          appstack's language host (toolchain/language-python)
#   pulumi-<v>/bin/pulumi-language-python-exec     the program runner script from the sdk/v3 module
#   pulumi-<v>/bin/pulumi-resource-pulumi-python   the dynamic-provider runner script from sdk/v3
#   pulumi-home/plugins/resource-<name>-v<v>/      one provider plugin per pinned PULUMI_<NAME>_VERSION
# The CLI version is PULUMI_CLI_VERSION when versions.env sets it, else PULUMI_VERSION: the proxy
# refuses pkg/v3 at some releases, so the CLI may have to lag the pip package.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${APPSTACK_CACHE:-$HOME/.cache/appstack}
cli_version=${PULUMI_CLI_VERSION:-$PULUMI_VERSION}

export GOTOOLCHAIN=local
export GOFLAGS=-mod=mod
export GOMODCACHE=$cache/go/mod
export GOCACHE=$cache/go/build
# Only the module proxy, as configured: no fallback to version control, which is unreachable here.
GOPROXY=$(go env GOPROXY)
export GOPROXY=${GOPROXY%%,*}

bin=$cache/pulumi-$cli_version/bin
pulumi_home=$cache/pulumi-home
mkdir -p "$cache" "$GOMODCACHE" "$GOCACHE"

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# timed NAME CMD...: runs CMD and prints how long it took.
timed() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  log "$name: $((SECONDS - start))s"
}

# moddir MODULE@VERSION: downloads a module through the proxy and prints its directory.
moddir() {
  local json dir
  json=$(go mod download -json "$1") || true
  dir=$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$json")
  if [[ -z $dir ]]; then
    log "go mod download $1 failed:"
    printf '%s\n' "$json" >&2
    return 1
  fi
  printf '%s\n' "$dir"
}

# Scratch space for copies of modules, removed on exit. Module-cache copies are read-only, so they
# are made writable before removal.
work=$(mktemp -d "${TMPDIR:-/tmp}/appstack-toolchain.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
# scratch NAME: a fresh empty directory under $work.
scratch() {
  rm -rf "${work:?}/$1"
  mkdir -p "$work/$1"
  printf '%s\n' "$work/$1"
}

# sdk_layout: pkg/ and sdk/ side by side, so pkg's `replace sdk/v3 => ../sdk` resolves.
sdk_layout() {
  local s pkg sdk
  s=$(scratch cli)
  pkg=$(moddir "github.com/pulumi/pulumi/pkg/v3@v$cli_version") ||
    die "the Go module proxy does not serve github.com/pulumi/pulumi/pkg/v3@v$cli_version; set PULUMI_CLI_VERSION in versions.env to a release it serves"
  sdk=$(moddir "github.com/pulumi/pulumi/sdk/v3@v$cli_version")
  cp -r "$pkg" "$s/pkg"
  cp -r "$sdk" "$s/sdk"
  chmod -R u+w "$s"
  printf '%s\n' "$s"
}

build_cli() {
  local s
  s=$(sdk_layout)
  (cd "$s/pkg" && go build -trimpath -o "$bin/pulumi.tmp" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$cli_version" ./cmd/pulumi)
  mv "$bin/pulumi.tmp" "$bin/pulumi"
  [[ $("$bin/pulumi" version) == "v$cli_version" ]] || die "built pulumi does not report v$cli_version"
}

# The language host is appstack's own module; its cache stamp is the hash of its sources, so an
# edit rebuilds it. It is built against the same sdk/v3 as the CLI.
langhost_stamp() {
  (cd "$here/language-python" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)
}

build_language_host() {
  local s sdk
  s=$(scratch language-python)
  cp -r "$here/language-python/." "$s/"
  (cd "$s" && go mod edit -require="github.com/pulumi/pulumi/sdk/v3@v$cli_version" &&
    go build -trimpath -o "$bin/pulumi-language-python.tmp" -ldflags "-X main.version=$cli_version" .)
  mv "$bin/pulumi-language-python.tmp" "$bin/pulumi-language-python"
  sdk=$(moddir "github.com/pulumi/pulumi/sdk/v3@v$cli_version")
  install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$bin/pulumi-language-python-exec"
  install -m 0755 "$sdk/python/dist/pulumi-resource-pulumi-python" "$bin/pulumi-resource-pulumi-python"
  langhost_stamp >"$bin/.language-python.stamp"
}

# Provider plugins: one per PULUMI_<NAME>_VERSION pinned in versions.env. Each must be built from
# its provider module; the proxy must serve that module for this to work.
provider_module() {
  case $1 in
    command) printf 'github.com/pulumi/pulumi-command/provider' ;;
    random) printf 'github.com/pulumi/pulumi-random/provider/v4' ;;
    docker) printf 'github.com/pulumi/pulumi-docker/provider/v5' ;;
    *) die "unknown provider $1" ;;
  esac
}

build_provider() {
  local name=$1 version=$2 module
  module=$(provider_module "$name")
  if ! moddir "$module@v$version" >/dev/null; then
    die "provider $name $version cannot be built: the Go module proxy does not serve $module@v$version (it refuses every version of it, pseudo-versions included). Unpin PULUMI_${name^^}_VERSION and drop the pip package, or provide the plugin another way."
  fi
  die "provider $name: $module@v$version is reachable now, but no build recipe was verified for it; see toolchain/README.md"
}

plugin_installed() {
  [[ -x $pulumi_home/plugins/resource-$1-v$2/pulumi-resource-$1 ]]
}

main() {
  local total=$SECONDS name var version
  mkdir -p "$bin"
  if [[ -x $bin/pulumi ]]; then
    log "pulumi v$cli_version: cached"
  else
    timed "pulumi v$cli_version (CLI)" build_cli
  fi
  if [[ -x $bin/pulumi-language-python && $(cat "$bin/.language-python.stamp" 2>/dev/null) == "$(langhost_stamp)" ]]; then
    log "pulumi-language-python: cached"
  else
    timed "pulumi-language-python" build_language_host
  fi

  # `build.sh engine` stops after the CLI and language host: enough for programs whose resources
  # are all dynamic (tests/engine), while the provider plugins cannot be built here.
  if [[ ${1:-all} == engine ]]; then
    log "engine built in $((SECONDS - total))s (providers skipped); source toolchain/env.sh to use it"
    return 0
  fi
  for name in command random docker; do
    var=PULUMI_${name^^}_VERSION
    version=${!var:-}
    [[ -n $version ]] || continue
    if plugin_installed "$name" "$version"; then
      log "provider $name $version: cached"
    else
      timed "provider $name $version" build_provider "$name" "$version"
    fi
  done

  if [[ -x $here/build-minio.sh ]]; then
    timed "minio" "$here/build-minio.sh"
  fi
  log "done in $((SECONDS - total))s; source toolchain/env.sh to use it"
}

main "$@"
