"""The appstack policy pack: assembles the policies of this folder; the rules live in their modules.

Run it with ``pulumi preview --policy-pack policies`` (see ``PulumiPolicy.yaml``). Each
per-resource policy runs on a resource's inputs before its step, so a violation stops the
deployment before anything is touched; no-plaintext-secrets runs over the whole stack, where the
stack outputs are visible. Enforcement levels come from each policy's ``SPEC`` (mandatory unless
it says advisory). Constructing ``PolicyPack`` starts the analyzer server and never returns.
"""

import sys
from pathlib import Path

# The engine runs this file with the pack folder as the working directory and first import path;
# the policies import each other as the ``policies`` package, so its parent must be importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import Policy, PolicyPack

from policies import no_plaintext_secrets
from policies.evaluate import POLICIES
from policies.pack_adapter import (
    preserve_secret_markers,
    resource_policy,
    stack_policy,
)

STACK_POLICIES = frozenset({no_plaintext_secrets.SPEC.name})
"""Policies that need the whole stack (the stack outputs) rather than one resource at a time."""

preserve_secret_markers()

PACK_POLICIES: list[Policy] = [
    (stack_policy if spec.name in STACK_POLICIES else resource_policy)(spec, check)
    for spec, check in POLICIES
]

PolicyPack(name="appstack", policies=PACK_POLICIES)
