#!/usr/bin/env bash
# Smoke test of the toolchain that toolchain/build.sh cached: in a temporary directory outside the
# repo, a Python Pulumi program on a local file backend goes through `up`, `preview
# --expect-no-changes` and `destroy`, a Python policy pack rejects one of its resources, and no
# plugin is downloaded. Run after build.sh; exits non-zero with a message on the first failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=env.sh
source "$here/env.sh"
cli_version=${PULUMI_CLI_VERSION:-$PULUMI_VERSION}
venv=${APPSTACK_VENV:-$repo/.venv}

fail() { printf '[smoke] FAIL: %s\n' "$*" >&2; exit 1; }
step() { printf '[smoke] %s\n' "$*" >&2; }

command -v pulumi >/dev/null || fail "pulumi is not on PATH: run toolchain/build.sh first"
[[ $(pulumi version) == "v$cli_version" ]] || fail "pulumi version is $(pulumi version), expected v$cli_version"
"$venv/bin/python" -c 'import pulumi, pulumi_policy' ||
  fail "$venv lacks pulumi or pulumi-policy: create it and pip install -r requirements-dev.txt"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/appstack-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/state" "$tmp/prog" "$tmp/policy"
export PULUMI_CONFIG_PASSPHRASE=appstack-smoke
# Only the scratch backend: never the repo, never a shared login.
export PULUMI_BACKEND_URL="file://$tmp/state"

# Provider plugins pinned in versions.env must be installed; their resources join the program.
providers=()
for name in command random docker; do
  var=PULUMI_${name^^}_VERSION
  version=${!var:-}
  [[ -n $version ]] || continue
  [[ -x $PULUMI_HOME/plugins/resource-$name-v$version/pulumi-resource-$name ]] ||
    fail "provider plugin $name $version is not installed in $PULUMI_HOME: toolchain/build.sh did not build it"
  providers+=("$name")
done

cat >"$tmp/prog/Pulumi.yaml" <<EOF
name: appstack-smoke
runtime:
  name: python
  options:
    virtualenv: $venv
EOF

cat >"$tmp/prog/__main__.py" <<'EOF'
"""Smoke-test program: a dynamic resource and a secret config value, plus pinned providers."""

import os

import pulumi
from pulumi.dynamic import CreateResult, Resource, ResourceProvider


class EchoProvider(ResourceProvider):
    """Returns its input, so the dynamic-provider plugin path is exercised without side effects."""

    def create(self, props):
        return CreateResult(id_="echo", outs={"text": props["text"]})


class Echo(Resource, module="appstack", name="Echo"):
    """A resource served by EchoProvider."""

    text: pulumi.Output[str]

    def __init__(self, name, text, opts=None):
        super().__init__(EchoProvider(), name, {"text": text}, opts)


config = pulumi.Config()
pulumi.export("token", config.require_secret("token"))
pulumi.export("echo", Echo("hello", "hi").text)

providers = os.environ["SMOKE_PROVIDERS"].split()
if "random" in providers:
    import pulumi_random

    pulumi.export("password", pulumi_random.RandomPassword("pw", length=16).result)
if "command" in providers:
    import pulumi_command

    pulumi.export("cmd", pulumi_command.local.Command("hi", create="echo hi").stdout)
if "docker" in providers:
    import pulumi_docker

    # Needs a reachable Docker daemon on `up`; the network is removed again by `destroy`.
    pulumi_docker.Network("smoke", name="appstack-smoke")
EOF
export SMOKE_PROVIDERS="${providers[*]+"${providers[*]}"}"

cat >"$tmp/policy/PulumiPolicy.yaml" <<EOF
runtime:
  name: python
  options:
    virtualenv: $venv
EOF
cat >"$tmp/policy/__main__.py" <<'EOF'
"""Smoke-test policy pack: rejects any Echo resource whose text is "hi"."""

from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


def no_hi(args, report_violation):
    if args.resource_type.endswith(":Echo") and args.props.get("text") == "hi":
        report_violation("appstack-smoke: Echo text must not be hi")


PolicyPack(
    name="appstack-smoke-policy",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[ResourceValidationPolicy(name="no-hi", description="Echo text is not hi", validate=no_hi)],
)
EOF

# The installed plugins: one directory each (the engine touches <plugin>.lastused files beside
# them on every use, which is not an acquisition).
installed_plugins() { find "$PULUMI_HOME/plugins" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort; }
plugins_before=$(installed_plugins)
out=$tmp/out.txt
run() {
  step "pulumi $*"
  if ! (cd "$tmp/prog" && pulumi "$@" --non-interactive) >"$out" 2>&1; then
    cat "$out" >&2
    fail "pulumi $* failed"
  fi
  if grep -qi 'download' "$out"; then
    cat "$out" >&2
    fail "pulumi $* tried to download something"
  fi
}

run stack init dev
run config set --secret token s3cret-value
run up --yes --skip-preview
run stack output token --show-secrets
[[ $(<"$out") == "s3cret-value" ]] || fail "secret config did not round-trip: got $(<"$out")"
run stack output echo
[[ $(<"$out") == "hi" ]] || fail "dynamic resource output is $(<"$out"), expected hi"
state_file=$(find "$tmp/state/.pulumi/stacks" -name 'dev.json' | head -n1)
[[ -s $state_file ]] || fail "no stack state file under $tmp/state"
grep -q '"urn:pulumi:dev::appstack-smoke::pulumi-python:dynamic/appstack:Echo::hello"' "$state_file" ||
  fail "the state file does not record the Echo resource"
if grep -q 's3cret-value' "$state_file"; then
  fail "the secret is stored in plain text in the state"
fi
run preview --expect-no-changes

step "pulumi preview --policy-pack (must be rejected)"
if (cd "$tmp/prog" && pulumi preview --non-interactive --policy-pack "$tmp/policy") >"$out" 2>&1; then
  cat "$out" >&2
  fail "the policy pack did not reject the Echo resource"
fi
grep -q 'appstack-smoke: Echo text must not be hi' "$out" || {
  cat "$out" >&2
  fail "preview failed, but not with the policy violation"
}

run destroy --yes
run stack rm dev --yes
[[ $(installed_plugins) == "$plugins_before" ]] ||
  fail "PULUMI_HOME/plugins changed during the smoke test: a plugin was acquired"
step "OK: pulumi v$cli_version, Python language host, dynamic provider, policy pack${SMOKE_PROVIDERS:+, providers: $SMOKE_PROVIDERS}"
