"""Health checks (mandatory, high).

Why: deployments "half-worked": a server started but failed its health check (502s), and nothing
waited to see it. A container without a health check cannot be waited for, so the deployment
cannot tell a running service from a broken one.

Rule: every long-running container (``mustRun`` not false) declares ``healthcheck.tests`` with a
real command (non-empty, not ``["NONE"]``, and a ``CMD``/``CMD-SHELL`` form followed by a
command) and sets ``wait: true`` so the deployment waits until Docker reports it healthy.
Unknown values are refused: a health check must be declared, not computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from appstack.contract import CONTAINER
from policies import kubernetes
from policies.model import PolicyContext, PolicySpec, Resource, Violation

SPEC = PolicySpec(
    name="health-checks",
    description="Every long-running container has a health check and the deployment waits for it.",
    mandatory=True,
    severity="high",
)

_EXEC_FORMS = ("CMD", "CMD-SHELL")


def health_check_problem(healthcheck: Any) -> str | None:
    """Why ``healthcheck`` does not define a usable check, or ``None`` when it does."""
    if not isinstance(healthcheck, Mapping):
        if healthcheck is None:
            return "has no healthcheck"
        return "has a healthcheck unknown at preview"
    tests = healthcheck.get("tests")
    if not isinstance(tests, Sequence) or isinstance(tests, str) or not tests:
        return "has a healthcheck without tests"
    if not all(isinstance(part, str) for part in tests):
        return "has healthcheck tests that are not all known strings"
    if tests[0] == "NONE":
        return "disables its healthcheck (tests ['NONE'])"
    if tests[0] in _EXEC_FORMS and not any(part.strip() for part in tests[1:]):
        return f"has a healthcheck {tests[0]} without a command"
    return None


def check(resource: Resource, ctx: PolicyContext) -> list[Violation]:
    """Violations of health-checks for one resource (containers that must keep running, and
    the containers of long-running Kubernetes workloads: a readiness and a liveness probe)."""
    if resource.type in kubernetes.WORKLOADS:
        return [
            SPEC.violation(
                resource,
                f"{resource.name}: {problem}: give it one (an exec probe such as pg_isready) so "
                "the rollout waits until it is ready and a hung process is restarted.",
            )
            for problem in kubernetes.probe_problems(resource)
        ]
    if resource.type != CONTAINER or resource.props.get("mustRun") is False:
        return []
    violations = []
    problem = health_check_problem(resource.props.get("healthcheck"))
    if problem is not None:
        violations.append(
            SPEC.violation(
                resource,
                f"{resource.name} {problem}: give it healthcheck.tests (e.g. "
                "['CMD-SHELL', 'pg_isready ...']) so the deployment can wait until it is healthy.",
            )
        )
    if resource.props.get("wait") is not True:
        violations.append(
            SPEC.violation(
                resource,
                f"{resource.name} does not set wait=true: the deployment would continue before "
                "the container is healthy.",
            )
        )
    return violations
