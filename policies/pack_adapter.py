"""Turn pulumi-policy's validation arguments into the neutral view, and policies into pack policies.

What pulumi-policy 1.21.0 (with the Pulumi 3.272 engine) actually hands a Python pack, read from
its source (``pulumi_policy/policy.py``, ``deserialize.py``, ``proxy.py``) and the engine's
``sdk/go/common/resource/plugin/analyzer_plugin.go``:

* **Which calls.** ``ResourceValidationPolicy`` runs in ``Analyze``, once per resource *before*
  its step, on the resource's **inputs**; a mandatory violation stops the preview or update
  before that resource is touched. ``StackValidationPolicy`` runs in ``AnalyzeStack`` after the
  program finished registering, on every resource's **outputs** (the ``pulumi:pulumi:Stack``
  resource's outputs are the stack outputs), with ``parent``/``dependencies`` linked.
* **Unknown values.** The engine sends computed values with ``KeepUnknowns``; pulumi-policy
  leaves them as sentinel strings (``04da6b54-...`` for strings, one per kind, see
  ``pulumi_policy.proxy.UNKNOWN_*``) and wraps ``props`` in a proxy that raises
  ``UnknownValueError`` when one is *read*. The servicer catches that error and turns it into an
  **advisory** "can't run policy during preview" note: the policy is silently skipped. So this
  adapter never reads through the proxy: it walks the raw targets (``proxy["__target"]``) and
  maps each sentinel to ``appstack.contract.UNKNOWN``, and the policies decide what an unknown
  means (for pgvector-only: a violation, never a pass).
* **Secrets.** The engine sends secrets marked (``KeepSecrets``), but ``Analyze`` and
  ``AnalyzeStack`` deserialize them with ``proxy_secrets=False``: the policy sees the plain value
  and no trace that it was secret (only ``Remediate`` keeps ``Secret`` wrappers). The public API
  therefore cannot tell a secret DSN from a plain one. :func:`preserve_secret_markers` replaces
  the deserializer the servicer calls (``pulumi_policy.policy.deserialize_properties``) with one
  that keeps secret values wrapped in ``pulumi_policy.Secret``; the adapter records their paths
  in ``Resource.secret_props`` and unwraps them. It refuses to run against an SDK without that
  hook rather than judge secrets blind. ``opts.additional_secret_outputs`` lists only outputs
  forced secret by option, not inputs made secret by ``Output.secret``.
* **protect / retain_on_delete.** ``opts.protect`` is present in both calls. The engine's
  ``AnalyzerResourceOptions`` has no ``retainOnDelete``: the pack cannot see it, so
  ``Resource.retain_on_delete`` is ``None`` here (the engine-less check enforces it).
* **Stack name.** Not in the arguments. The engine starts Python packs through
  ``pulumi-analyzer-policy-python`` with ``PULUMI_STACK``/``PULUMI_PROJECT`` in the environment
  (and ``pulumi.policy`` configures ``pulumi.get_stack()`` from them); it is also the second
  field of every URN (``urn:pulumi:<stack>::<project>::<type chain>::<name>``), which this adapter
  reads first, falling back to ``PULUMI_STACK``.
* **Parent type.** ``opts.parent`` is the parent's URN in ``Analyze``; ``PolicyResource.parent``
  is the parent object in ``AnalyzeStack``. Both agree with the URN's type chain
  (``Platform$Database$Container``), whose second-to-last entry is the parent type.
* **Config.** Each policy declares a ``PolicyConfigSchema`` (JSON-schema ``properties``);
  ``args.get_config()`` returns that policy's own values from ``--policy-pack-config`` (keys as
  given, e.g. ``allowedRepositories``), or an empty mapping when none were given, so defaults are
  applied here by :meth:`PolicyConfig.from_mapping`. Config is per policy, not per pack.
* **Serving.** ``PolicyPack(...)`` starts the gRPC server, prints its port and blocks forever in
  its constructor: building one outside the engine hangs. Tests replace the class before running
  ``__main__.py``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi_policy
from pulumi_policy import deserialize as _deserialize
from pulumi_policy import policy as _policy
from pulumi_policy import proxy as _proxy
from pulumi_policy import secret as _secret

from appstack.contract import UNKNOWN
from policies.evaluate import ResourceCheck
from policies.model import PolicyConfig, PolicyContext, PolicySpec, Resource, Violation

_UNKNOWN_SENTINELS = frozenset(
    {
        _proxy.UNKNOWN_BOOLEAN_VALUE,
        _proxy.UNKNOWN_NUMBER_VALUE,
        _proxy.UNKNOWN_STRING_VALUE,
        _proxy.UNKNOWN_ARRAY_VALUE,
        _proxy.UNKNOWN_ASSET_VALUE,
        _proxy.UNKNOWN_ARCHIVE_VALUE,
        _proxy.UNKNOWN_OBJECT_VALUE,
    }
)
_PROXY_TYPES = (
    _proxy._DictProxy,
    _proxy._ListProxy,
    _secret._DictSecretsProxy,
    _secret._ListSecretsProxy,
)
_SEVERITY = {
    "low": pulumi_policy.Severity.LOW,
    "medium": pulumi_policy.Severity.MEDIUM,
    "high": pulumi_policy.Severity.HIGH,
    "critical": pulumi_policy.Severity.CRITICAL,
}

_DEFAULTS = PolicyConfig()
_STRING_LIST = {"type": "array", "items": {"type": "string", "minLength": 1}}
_REMOTE_BIND_SCHEMA: dict[str, dict[str, Any]] = {
    "allowAllInterfaces": {
        "type": "boolean",
        "default": False,
        "description": "Let services on a remote Docker host listen on every interface.",
    },
    "productionEnvironments": {
        **_STRING_LIST,
        "default": list(_DEFAULTS.production_environments),
        "description": "Environments where remote-bind-address (not the advisory) applies.",
    },
}
CONFIG_SCHEMAS: dict[str, dict[str, dict[str, Any]]] = {
    "pgvector-only": {
        "allowedRepositories": {
            **_STRING_LIST,
            "default": list(_DEFAULTS.allowed_database_repositories),
            "description": "Image repositories accepted for the database and any PostgreSQL image.",
        },
        "extraAllowedRepositories": {
            **_STRING_LIST,
            "default": [],
            "description": "Repositories added to allowedRepositories (e.g. a local mirror).",
        },
    },
    "pinned-images": {
        "productionEnvironments": {
            **_STRING_LIST,
            "default": list(_DEFAULTS.production_environments),
            "description": "Environments where every image must be pinned by digest.",
        }
    },
    "remote-bind-address": _REMOTE_BIND_SCHEMA,
    "remote-bind-address-advisory": _REMOTE_BIND_SCHEMA,
    "data-kept-in-prod": {
        "productionEnvironments": {
            **_STRING_LIST,
            "default": list(_DEFAULTS.production_environments),
            "description": "Environments where stateful resources must be protected.",
        }
    },
}
"""The pack config each policy accepts (``pulumi preview --policy-pack-config <file.json>``)."""


# --- secrets: keep the markers the engine sends -------------------------------------------------


def _keep_secret(value: Any) -> Any:
    if isinstance(value, list):
        return [_keep_secret(item) for item in value]
    if isinstance(value, dict):
        if value.get(_deserialize.SPECIAL_SIG_KEY) == _deserialize.SPECIAL_SECRET_SIG:
            return pulumi_policy.Secret(_keep_secret(value.get("value")))
        if _deserialize.SPECIAL_SIG_KEY in value:
            return _deserialize._deserialize_property(value)
        return {key: _keep_secret(item) for key, item in value.items()}
    return value


def _deserialize_keeping_secrets(
    props: dict[str, Any], proxy_secrets: bool = False
) -> dict[str, Any]:
    """Like pulumi-policy's deserializer, but secrets stay wrapped in ``Secret`` leaves."""
    if proxy_secrets:  # the remediation path already keeps secrets: leave it as it is
        return _deserialize.deserialize_properties(props, True)
    return {key: _keep_secret(value) for key, value in props.items()}


def preserve_secret_markers() -> None:
    """Make the policy servicer keep secret markers in ``props`` (idempotent; see module doc).

    Raises ``RuntimeError`` when the installed pulumi-policy no longer has the hook, so the pack
    fails loudly instead of reporting every secret as plain text.
    """
    if not callable(getattr(_policy, "deserialize_properties", None)):
        raise RuntimeError(
            "pulumi_policy.policy.deserialize_properties is gone: this pulumi-policy version "
            "cannot be told to keep secret markers; update policies/pack_adapter.py"
        )
    _policy.deserialize_properties = _deserialize_keeping_secrets


# --- the neutral view ---------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def neutral_value(value: Any, path: str, secret_paths: set[str]) -> Any:
    """``value`` as plain dicts/lists with UNKNOWN for unknowns; secret paths are collected.

    Reads proxies through their raw ``__target`` so unknown values never raise.
    """
    while isinstance(value, _PROXY_TYPES):
        value = value["__target"]
    if isinstance(value, pulumi_policy.Secret):
        secret_paths.add(path)
        return neutral_value(value.value, path, secret_paths)
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if isinstance(value, Mapping):
        return {
            str(key): neutral_value(item, _join(path, str(key)), secret_paths)
            for key, item in value.items()
        }
    if isinstance(value, Sequence):
        return [
            neutral_value(item, f"{path}[{index}]", secret_paths)
            for index, item in enumerate(value)
        ]
    return value


def parse_urn(urn: str) -> tuple[str, str, list[str], str]:
    """Split a URN into (stack, project, type chain from the root, logical name).

    Returns empty parts for a string that is not a Pulumi URN.
    """
    parts = urn.split("::", 3)
    if len(parts) != 4 or not parts[0].startswith("urn:pulumi:"):
        return "", "", [], ""
    stack = parts[0][len("urn:pulumi:") :]
    return stack, parts[1], parts[2].split("$"), parts[3]


def stack_of(urn: str) -> str:
    """The stack a resource belongs to: from its URN, else ``PULUMI_STACK`` (set by the engine)."""
    return parse_urn(urn)[0] or os.environ.get("PULUMI_STACK", "")


def to_resource(
    resource_type: str,
    name: str,
    urn: str,
    props: Any,
    protect: bool,
    parent_type: str | None = None,
    provider: pulumi_policy.PolicyProviderResource | None = None,
) -> Resource:
    """Build the neutral :class:`Resource` from what either validation call provides."""
    secret_paths: set[str] = set()
    plain = neutral_value(props, "", secret_paths)
    chain = parse_urn(urn)[2]
    if parent_type is None and len(chain) > 1:
        parent_type = chain[-2]
    return Resource(
        type=resource_type,
        name=name,
        urn=urn,
        props=plain if isinstance(plain, dict) else {},
        protect=bool(protect),
        retain_on_delete=None,
        secret_props=frozenset(secret_paths),
        parent_type=parent_type,
        provider_props=_provider_props(provider),
    )


def _provider_props(provider: pulumi_policy.PolicyProviderResource | None) -> dict[str, Any]:
    """The inputs of a resource's provider (``Analyze`` and ``AnalyzeStack`` both send them)."""
    if provider is None:
        return {}
    props = neutral_value(provider.props, "", set())
    return props if isinstance(props, dict) else {}


def from_resource_args(args: pulumi_policy.ResourceValidationArgs) -> Resource:
    """The neutral view of a resource under ``Analyze`` (its inputs)."""
    return to_resource(
        args.resource_type,
        args.name,
        args.urn,
        args.props,
        args.opts.protect,
        provider=args.provider,
    )


def from_policy_resource(resource: pulumi_policy.PolicyResource) -> Resource:
    """The neutral view of a resource under ``AnalyzeStack`` (its outputs)."""
    parent = resource.parent.resource_type if resource.parent is not None else None
    return to_resource(
        resource.resource_type,
        resource.name,
        resource.urn,
        resource.props,
        resource.opts.protect,
        parent,
        resource.provider,
    )


def context(urn: str, config: Mapping[str, Any] | None) -> PolicyContext:
    """The policy context for a resource: its stack and this policy's config."""
    return PolicyContext(stack=stack_of(urn), config=PolicyConfig.from_mapping(config))


# --- pack policies ------------------------------------------------------------------------------


def _report(violations: list[Violation], report: pulumi_policy.ReportViolation) -> None:
    for violation in violations:
        report(violation.message, violation.urn or None)


def _pack_options(spec: PolicySpec) -> dict[str, Any]:
    schema = CONFIG_SCHEMAS.get(spec.name)
    level = pulumi_policy.EnforcementLevel
    return {
        "name": spec.name,
        "description": spec.description,
        "enforcement_level": level.MANDATORY if spec.mandatory else level.ADVISORY,
        "severity": _SEVERITY[spec.severity],
        "config_schema": pulumi_policy.PolicyConfigSchema(schema) if schema else None,
    }


def resource_policy(
    spec: PolicySpec, check: ResourceCheck
) -> pulumi_policy.ResourceValidationPolicy:
    """A pack policy running ``check`` on each resource's inputs before its step."""

    def validate(
        args: pulumi_policy.ResourceValidationArgs, report: pulumi_policy.ReportViolation
    ) -> None:
        resource = from_resource_args(args)
        _report(check(resource, context(args.urn, args.get_config())), report)

    return pulumi_policy.ResourceValidationPolicy(validate=validate, **_pack_options(spec))


def stack_policy(spec: PolicySpec, check: ResourceCheck) -> pulumi_policy.StackValidationPolicy:
    """A pack policy running ``check`` on every resource's outputs, the Stack's outputs included."""

    def validate(
        args: pulumi_policy.StackValidationArgs, report: pulumi_policy.ReportViolation
    ) -> None:
        for policy_resource in args.resources:
            resource = from_policy_resource(policy_resource)
            _report(check(resource, context(resource.urn, args.get_config())), report)

    return pulumi_policy.StackValidationPolicy(validate=validate, **_pack_options(spec))
