#!/usr/bin/env bash
# Builds appstack's Pulumi toolchain from Go sources and caches it under
# ${APPSTACK_CACHE:-$HOME/.cache/appstack}, keyed by the versions in toolchain/versions.env.
# A rerun reuses the cache and takes seconds. Nothing is written into the repository.
#
#   toolchain/build.sh [all|engine|providers|yaml]
#     engine     the CLI and Pulumi's Python language host (enough for programs of dynamic resources)
#     providers  the three provider plugins (needs the CLI, to install them)
#     yaml       Pulumi YAML's language host (programs in YAML: the cross-language test)
#     all        all of them, then MinIO (default)
#
# Pieces (each timed):
#   pulumi-<v>/bin/pulumi                          the CLI, from github.com/pulumi/pulumi/pkg/v3
#   pulumi-<v>/bin/pulumi-language-python          Pulumi's own Python language host, from the
#                                                  vendored sdk/python/cmd/pulumi-language-python
#   pulumi-<v>/bin/pulumi-language-python-exec     the program runner script from the sdk/v3 module
#   pulumi-<v>/bin/pulumi-resource-pulumi-python   the dynamic-provider runner script from sdk/v3
#   pulumi-<v>/bin/pulumi-language-yaml            Pulumi YAML's language host, from the module
#                                                  github.com/pulumi/pulumi-yaml at PULUMI_YAML_VERSION
#   pulumi-home/plugins/resource-<name>-v<v>/      one provider plugin per pinned PULUMI_<NAME>_VERSION,
#                                                  built from a vendored source tree + the module proxy
#
# Sources: the Go module proxy (the one configured, never version control) and, for the trees the
# proxy refuses, the checked tarballs in the vendor directory: $APPSTACK_VENDOR, else the first
# `shared/vendor` found beside the checkout or one of its parents. Each tarball is verified against
# the vendor's MANIFEST.sha256 before use. A missing tarball or a refused module stops the build
# with a message naming it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source=versions.env
source "$here/versions.env"
log_prefix=toolchain
# shellcheck source=common.sh
source "$here/common.sh"
cli_version=${PULUMI_CLI_VERSION:-$PULUMI_VERSION}

bin=$cache/pulumi-$cli_version/bin
pulumi_home=$cache/pulumi-home
mkdir -p "$cache" "$GOMODCACHE" "$GOCACHE"

# Scratch space for copies of modules and extracted trees, removed on exit. Module-cache copies
# are read-only, so they are made writable before removal.
work=$(mktemp -d "${TMPDIR:-/tmp}/appstack-toolchain.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
# scratch NAME: a fresh empty directory under $work.
scratch() {
  rm -rf "${work:?}/$1"
  mkdir -p "$work/$1"
  printf '%s\n' "$work/$1"
}

# vendor_dir: where the vendored source tarballs are (see the header).
vendor_dir() {
  if [[ -n ${APPSTACK_VENDOR:-} ]]; then
    [[ -f $APPSTACK_VENDOR/MANIFEST.sha256 ]] ||
      die "APPSTACK_VENDOR=$APPSTACK_VENDOR has no MANIFEST.sha256"
    printf '%s\n' "$APPSTACK_VENDOR"
    return
  fi
  local dir=$repo
  while [[ $dir != / ]]; do
    dir=$(dirname "$dir")
    if [[ -f $dir/shared/vendor/MANIFEST.sha256 ]]; then
      printf '%s\n' "$dir/shared/vendor"
      return
    fi
  done
  die "no vendor directory: set APPSTACK_VENDOR to the directory holding the vendored source tarballs and MANIFEST.sha256 (shared/vendor beside the checkout)"
}

# vendored TARBALL DEST: extracts one vendored tree into DEST after checking its sha256.
vendored() {
  local name=$1 dest=$2 dir want got
  dir=$(vendor_dir)
  [[ -f $dir/$name ]] || die "vendored source $name is missing from $dir (needed to build it; see toolchain/README.md)"
  want=$(awk -v f="$name" '$2 == f { print $1 }' "$dir/MANIFEST.sha256")
  [[ -n $want ]] || die "$name is not listed in $dir/MANIFEST.sha256"
  got=$(sha256sum "$dir/$name" | cut -d' ' -f1)
  [[ $got == "$want" ]] || die "$dir/$name: sha256 $got does not match MANIFEST.sha256 ($want)"
  mkdir -p "$dest"
  tar -xzf "$dir/$name" -C "$dest"
}

# sdk_layout NAME: pkg/ and sdk/ side by side, so pkg's `replace sdk/v3 => ../sdk` resolves.
sdk_layout() {
  local s pkg sdk
  s=$(scratch "$1")
  pkg=$(moddir "github.com/pulumi/pulumi/pkg/v3@v$cli_version") ||
    die "the Go module proxy does not serve github.com/pulumi/pulumi/pkg/v3@v$cli_version; set PULUMI_CLI_VERSION in versions.env to a release it serves"
  sdk=$(moddir "github.com/pulumi/pulumi/sdk/v3@v$cli_version") ||
    die "the Go module proxy does not serve github.com/pulumi/pulumi/sdk/v3@v$cli_version"
  cp -r "$pkg" "$s/pkg"
  cp -r "$sdk" "$s/sdk"
  chmod -R u+w "$s"
  printf '%s\n' "$s"
}

version_ldflag="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$cli_version"

build_cli() {
  local s
  s=$(sdk_layout cli)
  (cd "$s/pkg" && go build -o "$bin/pulumi.tmp" -ldflags "$version_ldflag" ./cmd/pulumi)
  mv "$bin/pulumi.tmp" "$bin/pulumi"
  [[ $("$bin/pulumi" version) == "v$cli_version" ]] || die "built pulumi does not report v$cli_version"
}

# Pulumi's own Python language host: its module is refused by the proxy, so its three files come
# from the vendored tree of the CLI's release, extracted over the pkg/sdk layout its go.mod's
# replace lines expect (pkg => ../../../../pkg, sdk => ../../..).
langhost_tarball="pulumi+pulumi@v$cli_version.tar.gz"

build_language_host() {
  local s sdk
  s=$(sdk_layout language-python)
  vendored "$langhost_tarball" "$s"
  (cd "$s/sdk/python/cmd/pulumi-language-python" &&
    go build -o "$bin/pulumi-language-python.tmp" -ldflags "$version_ldflag" .)
  mv "$bin/pulumi-language-python.tmp" "$bin/pulumi-language-python"
  sdk=$(moddir "github.com/pulumi/pulumi/sdk/v3@v$cli_version")
  install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$bin/pulumi-language-python-exec"
  install -m 0755 "$sdk/python/dist/pulumi-resource-pulumi-python" "$bin/pulumi-resource-pulumi-python"
  printf '%s\n' "$langhost_tarball" >"$bin/.language-python.source"
}

# Pulumi YAML's language host. Its module has no replace lines, so `go install module@version`
# builds it as released (its go.mod pins its own pkg/v3 and sdk/v3, which the proxy serves). It
# goes beside the CLI, where the CLI looks for bundled language hosts first.
yaml_module=github.com/pulumi/pulumi-yaml

build_language_yaml() {
  local s
  moddir "$yaml_module@v$PULUMI_YAML_VERSION" >/dev/null ||
    die "the Go module proxy does not serve $yaml_module@v$PULUMI_YAML_VERSION; set PULUMI_YAML_VERSION in versions.env to a release it serves"
  s=$(scratch language-yaml)
  # `go install module@version` accepts no -mod flag.
  GOFLAGS="-buildvcs=false -trimpath" GOBIN=$s go install \
    -ldflags "-X $yaml_module/pkg/version.Version=$PULUMI_YAML_VERSION" \
    "$yaml_module/cmd/pulumi-language-yaml@v$PULUMI_YAML_VERSION"
  mv "$s/pulumi-language-yaml" "$bin/pulumi-language-yaml"
  printf '%s\n' "$PULUMI_YAML_VERSION" >"$bin/.language-yaml.version"
}

build_yaml() {
  mkdir -p "$bin"
  if [[ -x $bin/pulumi-language-yaml && $(cat "$bin/.language-yaml.version" 2>/dev/null) == "$PULUMI_YAML_VERSION" ]]; then
    log "pulumi-language-yaml $PULUMI_YAML_VERSION: cached"
  else
    timed "pulumi-language-yaml $PULUMI_YAML_VERSION" build_language_yaml
  fi
}

# Provider plugins: one per PULUMI_<NAME>_VERSION pinned in versions.env, each from the vendored
# tree of that exact release (random: a tree labelled with the release, see toolchain/README.md).
provider_tarballs() {
  case $1@$2 in
    docker@5.1.0) printf '%s\n' "pulumi+pulumi-docker@v5.1.0.tar.gz" \
      "kreuzwerker+terraform-provider-docker@5074970c71ce6cc393c74942d5d628943834beb9.tar.gz" ;;
    command@1.2.1) printf '%s\n' "pulumi+pulumi-command@v1.2.1.tar.gz" ;;
    random@4.21.1) printf '%s\n' "pulumi+pulumi-random@f64d8726a4f5edf2c675e03a53cdf740fb542f47.tar.gz" ;;
    *) die "no vendored source is known for provider $1 $2: pin PULUMI_${1^^}_VERSION (and the pip package) to a release listed in toolchain/build.sh" ;;
  esac
}

build_provider() {
  local name=$1 version=$2 root out tarballs
  root=$(scratch "provider-$name")
  out=$root/pulumi-resource-$name
  mapfile -t tarballs < <(provider_tarballs "$name" "$version")
  vendored "${tarballs[0]}" "$root"
  case $name in
    docker)
      # The bridged Terraform provider lives in upstream/ (a git submodule upstream); the
      # pulumi-docker tree carries the patches to apply to it, in order.
      vendored "${tarballs[1]}" "$root/upstream"
      local patch
      for patch in "$root"/patches/*.patch; do
        (cd "$root/upstream" && GIT_CEILING_DIRECTORIES="$root" git apply --allow-empty "$patch") ||
          die "patch $(basename "$patch") does not apply to the vendored terraform-provider-docker"
      done
      # schema-embed.json is generated at build time from the committed schema.json.
      (cd "$root/provider/cmd/pulumi-resource-docker" && VERSION=$version go generate ./main.go) ||
        die "generating pulumi-docker's schema-embed.json failed (a module refused by the proxy is named above)"
      (cd "$root/provider" && go build -tags no_compose -o "$out" \
        -ldflags "-s -w -X github.com/pulumi/pulumi-docker/provider/v5/pkg/version.Version=$version" \
        ./cmd/pulumi-resource-docker)
      ;;
    random)
      (cd "$root/provider/cmd/pulumi-resource-random" && VERSION=$version go generate ./main.go) ||
        die "generating pulumi-random's schema-embed.json failed (a module refused by the proxy is named above)"
      (cd "$root/provider" && go build -o "$out" \
        -ldflags "-s -w -X github.com/pulumi/pulumi-random/provider/v4/pkg/version.Version=$version" \
        ./cmd/pulumi-resource-random)
      ;;
    command)
      # Its main strips a leading "v", as upstream's release build passes the tag.
      (cd "$root/provider" && go build -o "$out" \
        -ldflags "-s -w -X github.com/pulumi/pulumi-command/provider/pkg/version.Version=v$version" \
        ./cmd/pulumi-resource-command)
      ;;
  esac
  [[ -x $out ]] || die "provider $name $version: go build produced no binary (see the errors above)"
  PULUMI_HOME=$pulumi_home "$bin/pulumi" plugin install resource "$name" "$version" --file "$out" \
    --non-interactive >&2
  plugin_installed "$name" "$version" || die "provider $name $version did not land in $pulumi_home/plugins"
}

plugin_installed() {
  [[ -x $pulumi_home/plugins/resource-$1-v$2/pulumi-resource-$1 ]]
}

build_engine() {
  mkdir -p "$bin"
  if [[ -x $bin/pulumi ]]; then
    log "pulumi v$cli_version: cached"
  else
    timed "pulumi v$cli_version (CLI)" build_cli
  fi
  if [[ -x $bin/pulumi-language-python && $(cat "$bin/.language-python.source" 2>/dev/null) == "$langhost_tarball" ]]; then
    log "pulumi-language-python v$cli_version: cached"
  else
    timed "pulumi-language-python v$cli_version" build_language_host
  fi
}

build_providers() {
  local name var version
  [[ -x $bin/pulumi ]] || die "the CLI is not built: run toolchain/build.sh engine first"
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
}

main() {
  local total=$SECONDS target=${1:-all}
  case $target in
    engine) build_engine ;;
    providers) build_providers ;;
    yaml) build_yaml ;;
    all)
      build_engine
      build_providers
      build_yaml
      timed "minio" "$here/build-minio.sh" >/dev/null
      ;;
    *) die "unknown target '$target' (expected all, engine, providers or yaml)" ;;
  esac
  log "$target done in $((SECONDS - total))s; source toolchain/env.sh to use it"
}

main "$@"
