"""No plain-text secrets (mandatory, critical).

Why: credentials were committed in docs in plain text. Pulumi keeps a value encrypted in state
and masked in logs only when it is marked secret; a password pasted into a container's
environment or a DSN exported as a plain output is readable by anyone with the state file.

Rule: wherever a value looks like a credential it must be secret: container ``envs`` entries
``KEY=VALUE`` whose key looks secret (``PASSWORD``, ``SECRET``, ``TOKEN``, ``*_KEY``, ``DSN``,
``CREDENTIALS``...) or whose value is a URL with ``user:password@``; likewise any prop of any
resource (a command's ``environment``, a dynamic provider's ``password``/``secret_key``) and the
stack's outputs. Empty values and values unknown at preview are not reported (nothing readable
yet; the update re-checks them once known). Messages name the path, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from appstack.contract import CONTAINER
from policies import kubernetes
from policies.model import PolicyContext, PolicySpec, Resource, Violation, path_is_secret

SPEC = PolicySpec(
    name="no-plaintext-secrets",
    description="Passwords, keys and DSNs with credentials are secrets, never plain text.",
    mandatory=True,
    severity="critical",
)

OUTPUTS_SUBJECT = "stack outputs"
STACK_TYPE = "pulumi:pulumi:Stack"

_SECRET_WORDS = ("PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "CREDENTIAL", "DSN")
_CREDENTIALS_IN_URL_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/@\s:]*:[^/@\s]+@")
_ENV_ENTRY_RE = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)=(?P<value>.*)$", re.DOTALL)


def _upper_snake(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^A-Za-z0-9]+", "_", spaced).upper()


def name_looks_secret(name: str) -> bool:
    """True for names like ``POSTGRES_PASSWORD``, ``secretKey``, ``dsn`` or ``API_TOKEN``."""
    normal = _upper_snake(name)
    return (
        any(word in normal for word in _SECRET_WORDS) or normal == "KEY" or normal.endswith("_KEY")
    )


def has_url_credentials(value: str) -> bool:
    """True when ``value`` contains a URL with a password (``scheme://user:password@host``)."""
    return _CREDENTIALS_IN_URL_RE.search(value) is not None


def _leaks(name: str, value: Any) -> bool:
    if not isinstance(value, str) or value == "":
        return False
    return name_looks_secret(name) or has_url_credentials(value)


def plaintext_paths(
    value: Any, path: str, name: str, is_secret: Callable[[str], bool]
) -> Iterator[tuple[str, str]]:
    """Yield ``(path, name)`` for every credential-looking value under ``value`` that is not
    secret. ``name`` is the key the value sits under (an env entry's own key for ``K=V``)."""
    if path and is_secret(path):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "valueFrom":
                continue  # a Kubernetes reference to a Secret, not a value
            item_path = f"{path}.{key}" if path else str(key)
            yield from plaintext_paths(item, item_path, str(key), is_secret)
        return
    if isinstance(value, Sequence) and not isinstance(value, str):
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            entry = _ENV_ENTRY_RE.match(item) if isinstance(item, str) and name == "envs" else None
            if entry is not None:
                if not is_secret(item_path) and _leaks(entry["key"], entry["value"]):
                    yield item_path, entry["key"]
            else:
                yield from plaintext_paths(item, item_path, name, is_secret)
        return
    if _leaks(name, value):
        yield path, name


def check(resource: Resource, ctx: PolicyContext) -> list[Violation]:
    """Violations of no-plaintext-secrets in one resource's props (the Stack's are its outputs)."""
    if resource.type == STACK_TYPE:
        return check_outputs(resource.props, resource.secret_props, ctx)
    if resource.type in kubernetes.WORKLOADS:
        return check_pod_env(resource)
    findings = plaintext_paths(resource.props, "", "", resource.is_secret)
    what = "environment entry" if resource.type == CONTAINER else "property"
    return [
        SPEC.violation(
            resource,
            f"{resource.name} {what} {path} ({key}) holds a credential in plain text: make it a "
            "secret (pulumi.Output.secret / additional_secret_outputs) so state and logs never "
            "show it.",
        )
        for path, key in findings
    ]


def check_pod_env(resource: Resource) -> list[Violation]:
    """A workload's env entries: a credential given as a literal `value` is readable by anyone
    who may read the pod spec, secret in Pulumi's state or not; only a secretKeyRef keeps it in
    a Secret. Other props are checked as for any resource."""
    violations = [
        SPEC.violation(
            resource,
            f"{resource.name} {path} ({name}) holds a credential as a literal value in the pod "
            "spec: read it from a Secret (valueFrom.secretKeyRef).",
        )
        for path, name, value in kubernetes.literal_env(resource)
        if _leaks(name, value)
    ]
    findings = plaintext_paths(resource.props, "", "", resource.is_secret)
    violations.extend(
        SPEC.violation(
            resource,
            f"{resource.name} property {path} ({key}) holds a credential in plain text: make "
            "it a secret.",
        )
        for path, key in findings
        if ".env[" not in path
    )
    return violations


def check_outputs(
    outputs: Mapping[str, Any], secret_outputs: frozenset[str] | set[str], ctx: PolicyContext
) -> list[Violation]:
    """Violations in the stack outputs; ``secret_outputs`` holds secret output names or paths."""
    findings = plaintext_paths(outputs, "", "", lambda p: path_is_secret(p, secret_outputs))
    return [
        SPEC.violation(
            OUTPUTS_SUBJECT,
            f"stack output {path} holds a credential in plain text: export it with "
            "pulumi.Output.secret so `pulumi stack output` masks it.",
        )
        for path, _key in findings
    ]
