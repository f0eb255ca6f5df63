#!/usr/bin/env bash
# Builds the pieces of the local single-node Kubernetes cluster (scripts/k8s-cluster.sh) and the
# pulumi-kubernetes provider plugin, and caches them under ${APPSTACK_CACHE:-$HOME/.cache/appstack},
# keyed by the versions in toolchain/versions.env. A rerun reuses the cache and takes seconds.
# Nothing is installed system-wide and nothing is written into the repository.
#
# Pieces (each timed):
#   kubernetes-v<v>/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubelet,kubectl,kube-proxy}
#       from module k8s.io/kubernetes through the wrapper module toolchain/k8s/kubernetes
#   etcd-<deb version>/usr/bin/etcd
#       Debian's etcd-server package, `apt-get download` + `dpkg -x` (not installed)
#   pause-<busybox deb version>/pause.tar
#       the pod sandbox ("pause") image, a `docker save` archive holding Debian's static busybox
#   coredns-<v>/coredns
#       cluster DNS of the routed pod network (APPSTACK_K8S_POD_NETWORK=routed), `go install
#       github.com/coredns/coredns@v<v>` (its go.mod has no replace directives)
#   pulumi-kubernetes-<v>/pulumi-resource-kubernetes, installed into pulumi-home/plugins/
#       from module github.com/pulumi/pulumi-kubernetes/provider/v4 through toolchain/k8s/pulumi-kubernetes
# containerd and runc are Debian system packages (scripts/install-system.sh); checked, not built.
# The provider plugin is installed with the cached Pulumi CLI, so `toolchain/build.sh engine` runs first.
#
# Usage: toolchain/build-k8s.sh [all|cluster|plugin]   (default all; cluster = no plugin)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
log_prefix=build-k8s
# shellcheck source=common.sh
source "$here/common.sh"
cli_version=${PULUMI_CLI_VERSION:-$PULUMI_VERSION}

kube_bin=$cache/kubernetes-v$KUBERNETES_VERSION/bin
etcd_root=$cache/etcd-$ETCD_DEB_VERSION
pause_dir=$cache/pause-${BUSYBOX_DEB_VERSION#*:}
plugin_dir=$cache/pulumi-kubernetes-$PULUMI_KUBERNETES_VERSION
coredns_dir=$cache/coredns-$COREDNS_VERSION
pulumi_home=$cache/pulumi-home
# The Go builds yield to everything else on the (shared, 2-core) machine.
go_build=(nice -n 19 go build -p 2)

# Scratch space for copies of the wrapper modules, removed on exit (module-cache copies are
# read-only, so everything is made writable first).
work=$(mktemp -d "${TMPDIR:-/tmp}/appstack-build-k8s.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT

# wrapper NAME: a scratch copy of toolchain/k8s/NAME (go.mod, go.sum), so that -mod=mod never
# rewrites the committed files; prints its directory.
wrapper() {
  mkdir -p "$work/$1"
  cp "$here/k8s/$1/go.mod" "$here/k8s/$1/go.sum" "$work/$1/"
  printf '%s\n' "$work/$1"
}

# The wrapper's go.mod names the version it builds; versions.env must agree with it.
check_wrapper_pin() {
  local gomod=$here/k8s/$1/go.mod module=$2 version=$3
  grep -qE "^require $module $version\$" "$gomod" ||
    die "$gomod does not require $module $version (versions.env); update the wrapper module together with the pin"
}

kube_components=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl kube-proxy)

build_kubernetes() {
  local dir minor ldflags component reported
  check_wrapper_pin kubernetes k8s.io/kubernetes "v$KUBERNETES_VERSION"
  dir=$(wrapper kubernetes)
  minor=${KUBERNETES_VERSION#*.}
  minor=${minor%%.*}
  # Without these the binaries report v0.0.0, and kubectl and the kubelet refuse the skew.
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=v$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean"
  done
  mkdir -p "$kube_bin"
  for component in "${kube_components[@]}"; do
    [[ -x $kube_bin/$component ]] && continue
    (cd "$dir" && timed "$component" "${go_build[@]}" -ldflags "$ldflags" \
      -o "$kube_bin/$component.tmp" "k8s.io/kubernetes/cmd/$component")
    mv "$kube_bin/$component.tmp" "$kube_bin/$component"
  done
  # Whole output first: `grep -q` ending the pipe early would fail it under pipefail.
  reported=$("$kube_bin/kubectl" version --client)
  grep -qx "Client Version: v$KUBERNETES_VERSION" <<<"$reported" ||
    die "the built kubectl does not report v$KUBERNETES_VERSION: $reported"
}

kubernetes_built() {
  local component
  for component in "${kube_components[@]}"; do
    [[ -x $kube_bin/$component ]] || return 1
  done
}

# deb_unpack PACKAGE VERSION DIR: `apt-get download` + `dpkg -x` into DIR (created anew); the
# download needs the package lists (`apt-get update`) but installs nothing.
deb_unpack() {
  local package=$1 version=$2 target=$3 dir
  dir=$work/deb-$package
  # apt-get downloads as its unprivileged _apt user where it may (else it warns and runs as root).
  mkdir -p "$dir"
  chmod 0755 "$work"
  chown _apt "$dir" 2>/dev/null || true
  (cd "$dir" && apt-get download -q "$package=$version" >&2) ||
    die "apt-get download $package=$version failed: run 'apt-get update' (the package lists may be missing or stale), or pin the version 'apt-cache policy $package' offers in versions.env"
  rm -rf "$target"
  mkdir -p "$(dirname "$target")"
  dpkg -x "$dir/${package}_"*.deb "$target"
}

fetch_etcd() {
  deb_unpack etcd-server "$ETCD_DEB_VERSION" "$etcd_root.tmp"
  local reported
  reported=$("$etcd_root.tmp/usr/bin/etcd" --version)
  grep -q "etcd Version: ${ETCD_DEB_VERSION%%-*}" <<<"$reported" ||
    die "the unpacked etcd does not report version ${ETCD_DEB_VERSION%%-*}: $reported"
  rm -rf "$etcd_root"
  mv "$etcd_root.tmp" "$etcd_root"
}

# The pause image every pod sandbox runs: only the static busybox, sleeping. The cluster pulls
# nothing, so it is imported from this archive (the `docker save` layout: one layer, its config,
# manifest.json). The sandbox is stopped with SIGKILL, so sleep needs no signal handling.
build_pause_image() {
  local rootfs=$work/pause/rootfs image=$work/pause/image layer_sum config config_sum
  deb_unpack busybox-static "$BUSYBOX_DEB_VERSION" "$work/pause/deb"
  mkdir -p "$rootfs/bin" "$image"
  install -m 0755 "$work/pause/deb/bin/busybox" "$rootfs/bin/busybox"
  tar --create --file "$image/layer.tar" --directory "$rootfs" --sort=name --mtime=@0 \
    --owner=0 --group=0 --numeric-owner bin
  layer_sum=$(sha256sum "$image/layer.tar" | cut -d' ' -f1)
  config='{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],'
  config+='"Entrypoint":["/bin/busybox","sleep","2147483647"],"WorkingDir":"/"},'
  config+='"rootfs":{"type":"layers","diff_ids":["sha256:'$layer_sum'"]},'
  config+='"created":"1970-01-01T00:00:00Z","history":[{"created":"1970-01-01T00:00:00Z"}]}'
  printf '%s' "$config" >"$image/config.json"
  config_sum=$(sha256sum "$image/config.json" | cut -d' ' -f1)
  mv "$image/config.json" "$image/$config_sum.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' \
    "$config_sum" "$K8S_PAUSE_IMAGE" >"$image/manifest.json"
  mkdir -p "$pause_dir"
  tar --create --file "$pause_dir/pause.tar.tmp" --directory "$image" --sort=name --mtime=@0 \
    --owner=0 --group=0 --numeric-owner layer.tar "$config_sum.json" manifest.json
  mv "$pause_dir/pause.tar.tmp" "$pause_dir/pause.tar"
}

# The provider module's zip lacks schema-embed.json and terraform-mapping-embed.json, which
# cmd/pulumi-resource-kubernetes/main.go embeds; its own generate.go writes them (schema.json with
# the version set, both re-serialised). The module copy is made writable and generated in place,
# and the wrapper builds against it through its `replace => ../provider`.
build_plugin() {
  local module=github.com/pulumi/pulumi-kubernetes/provider/v4 dir src cmd
  check_wrapper_pin pulumi-kubernetes "$module" "$PULUMI_KUBERNETES_MODULE_VERSION"
  dir=$(wrapper pulumi-kubernetes)
  src=$(moddir "$module@$PULUMI_KUBERNETES_MODULE_VERSION") ||
    die "the provider module cannot be fetched; see above"
  cp -r "$src" "$work/provider"
  chmod -R u+w "$work/provider"
  cmd=$work/provider/cmd/pulumi-resource-kubernetes
  # generate.go runs inside the provider's own module, whose `replace sdk/v4 => ../sdk` points
  # at a directory the zip does not have; generate.go does not need that module, so drop it.
  (cd "$work/provider" && go mod edit -dropreplace github.com/pulumi/pulumi-kubernetes/sdk/v4)
  (cd "$cmd" && VERSION=$PULUMI_KUBERNETES_VERSION timed "generate embeds" nice -n 19 go run ./generate.go)
  [[ -s $cmd/schema-embed.json && -s $cmd/terraform-mapping-embed.json ]] ||
    die "generate.go wrote no embed files into $cmd"
  mkdir -p "$plugin_dir"
  (cd "$dir" && timed "pulumi-resource-kubernetes" "${go_build[@]}" \
    -ldflags "-s -w -X $module/pkg/version.Version=$PULUMI_KUBERNETES_VERSION" \
    -o "$plugin_dir/pulumi-resource-kubernetes.tmp" "$module/cmd/pulumi-resource-kubernetes")
  mv "$plugin_dir/pulumi-resource-kubernetes.tmp" "$plugin_dir/pulumi-resource-kubernetes"
}

build_coredns() {
  mkdir -p "$coredns_dir"
  GOBIN=$work/coredns timed "coredns" nice -n 19 go install -ldflags "-s -w" \
    "github.com/coredns/coredns@v$COREDNS_VERSION"
  "$work/coredns/coredns" -version | grep -q "CoreDNS-$COREDNS_VERSION" ||
    die "the built coredns does not report $COREDNS_VERSION"
  mv "$work/coredns/coredns" "$coredns_dir/coredns"
}

plugin_installed() {
  [[ -x $pulumi_home/plugins/resource-kubernetes-v$PULUMI_KUBERNETES_VERSION/pulumi-resource-kubernetes ]]
}

install_plugin() {
  local pulumi=$cache/pulumi-$cli_version/bin/pulumi
  [[ -x $pulumi ]] ||
    die "$pulumi is missing: build the Pulumi CLI first ('bash toolchain/build.sh engine'), then rerun this script"
  PULUMI_HOME=$pulumi_home PULUMI_SKIP_UPDATE_CHECK=true \
    "$pulumi" plugin install resource kubernetes "$PULUMI_KUBERNETES_VERSION" \
    --file "$plugin_dir/pulumi-resource-kubernetes" --non-interactive >&2
  plugin_installed || die "pulumi plugin install did not place the kubernetes plugin in $pulumi_home/plugins"
}

# containerd and runc come from Debian (scripts/install-system.sh installs them).
check_runtime() {
  local missing=() program
  for program in containerd containerd-shim-runc-v2 ctr runc; do
    command -v "$program" >/dev/null || missing+=("$program")
  done
  ((${#missing[@]} == 0)) ||
    die "missing ${missing[*]}: install the Debian packages containerd and runc ('bash scripts/install-system.sh')"
}

main() {
  local what=${1:-all} total=$SECONDS
  case $what in all | cluster | plugin) ;; *) die "usage: $0 [all|cluster|plugin]" ;; esac
  if [[ $what != plugin ]]; then
    check_runtime
    if kubernetes_built; then
      log "kubernetes v$KUBERNETES_VERSION: cached"
    else
      timed "kubernetes v$KUBERNETES_VERSION" build_kubernetes
    fi
    if [[ -x $etcd_root/usr/bin/etcd ]]; then
      log "etcd $ETCD_DEB_VERSION: cached"
    else
      timed "etcd $ETCD_DEB_VERSION" fetch_etcd
    fi
    if [[ -s $pause_dir/pause.tar ]]; then
      log "pause image (busybox $BUSYBOX_DEB_VERSION): cached"
    else
      timed "pause image (busybox $BUSYBOX_DEB_VERSION)" build_pause_image
    fi
    if [[ -x $coredns_dir/coredns ]]; then
      log "coredns $COREDNS_VERSION: cached"
    else
      timed "coredns $COREDNS_VERSION" build_coredns
    fi
  fi
  if [[ $what != cluster ]]; then
    if [[ -x $plugin_dir/pulumi-resource-kubernetes ]]; then
      log "pulumi-resource-kubernetes $PULUMI_KUBERNETES_VERSION: cached"
    else
      timed "pulumi-resource-kubernetes $PULUMI_KUBERNETES_VERSION" build_plugin
    fi
    if plugin_installed; then
      log "plugin kubernetes $PULUMI_KUBERNETES_VERSION: installed"
    else
      timed "plugin install" install_plugin
    fi
  fi
  log "done in $((SECONDS - total))s"
}

main "$@"
