"""Run every appstack policy over a resource graph, without the Pulumi engine.

This is the entry point for the engine-less check: the mock harness records the graph, turns it
into :class:`policies.model.Resource` values and calls :func:`evaluate`. The policy pack runs the
very same ``check`` functions listed in :data:`POLICIES`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from policies import (
    data_kept_in_prod,
    environment_prefix,
    health_checks,
    no_plaintext_secrets,
    pgvector_only,
    pinned_images,
    private_storage,
    remote_bind_address,
)
from policies.model import PolicyConfig, PolicyContext, PolicySpec, Resource, Violation

ResourceCheck = Callable[[Resource, PolicyContext], list[Violation]]

POLICIES: tuple[tuple[PolicySpec, ResourceCheck], ...] = (
    (pgvector_only.SPEC, pgvector_only.check),
    (pinned_images.SPEC, pinned_images.check),
    (data_kept_in_prod.SPEC, data_kept_in_prod.check),
    (private_storage.SPEC, private_storage.check),
    (health_checks.SPEC, health_checks.check),
    (no_plaintext_secrets.SPEC, no_plaintext_secrets.check),
    (environment_prefix.SPEC, environment_prefix.check),
    (remote_bind_address.SPEC, remote_bind_address.check),
    (remote_bind_address.ADVISORY_SPEC, remote_bind_address.check_advisory),
)
"""Every policy with its per-resource check, in reporting order."""


def evaluate(
    resources: Iterable[Resource],
    stack: str,
    outputs: Mapping[str, Any] | None = None,
    secret_outputs: Iterable[str] = (),
    config: PolicyConfig | None = None,
) -> list[Violation]:
    """All violations of all policies for ``resources`` in ``stack``, plus the stack ``outputs``.

    ``secret_outputs`` names the outputs (or ``a.b`` paths into them) that are secret. The result
    is ordered by policy, then by resource as given; callers decide the exit status from
    ``Violation.mandatory``.
    """
    ctx = PolicyContext(stack=stack, config=config or PolicyConfig())
    resource_list = list(resources)
    violations: list[Violation] = []
    for _spec, check in POLICIES:
        for resource in resource_list:
            violations.extend(check(resource, ctx))
        if check is no_plaintext_secrets.check and outputs is not None:
            violations.extend(
                no_plaintext_secrets.check_outputs(outputs, frozenset(secret_outputs), ctx)
            )
    return violations


def has_mandatory(violations: Iterable[Violation]) -> bool:
    """True when any violation blocks the deployment."""
    return any(v.mandatory for v in violations)
