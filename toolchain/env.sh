# Source this file (". toolchain/env.sh") to use the toolchain that toolchain/build.sh cached:
# the cached Pulumi bin dir first on PATH, the cached PULUMI_HOME with the installed plugins, and
# settings that keep Pulumi and pip from reaching for the network. Changes nothing else.
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
unset _appstack_toolchain_dir _appstack_cache _appstack_cli_version
