# Source this file (". toolchain/env.sh") to use the toolchain that toolchain/build.sh cached:
# the cached Pulumi bin dir first on PATH, the cached PULUMI_HOME with the installed plugins, and
# settings that keep Pulumi and pip from reaching for the network, and APPSTACK_KUBECTL (the
# kubectl appstack's port-forwards run) when `make k8s` built one. Changes nothing else.
_appstack_toolchain_dir=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)
_appstack_cache=${APPSTACK_CACHE:-$HOME/.cache/appstack}
_appstack_cli_version=$(
  # shellcheck source=versions.env
  . "$_appstack_toolchain_dir/versions.env" && printf '%s' "${PULUMI_CLI_VERSION:-$PULUMI_VERSION}"
)
export PATH="$_appstack_cache/pulumi-$_appstack_cli_version/bin:$PATH"
export PULUMI_HOME="$_appstack_cache/pulumi-home"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PIP_DISABLE_PIP_VERSION_CHECK=1
# The kubectl `make k8s` built, for appstack's port-forwards to a cluster (unless one is chosen).
_appstack_kubectl="$_appstack_cache/kubernetes-v$(
  . "$_appstack_toolchain_dir/versions.env" && printf '%s' "$KUBERNETES_VERSION"
)/bin/kubectl"
if [ -z "${APPSTACK_KUBECTL:-}" ] && [ -x "$_appstack_kubectl" ]; then
  export APPSTACK_KUBECTL="$_appstack_kubectl"
fi
unset _appstack_toolchain_dir _appstack_cache _appstack_cli_version _appstack_kubectl
