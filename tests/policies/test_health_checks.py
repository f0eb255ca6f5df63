"""health-checks: every long-running container has a real health check and is waited for."""

from __future__ import annotations

from typing import Any

import pytest

from appstack.contract import UNKNOWN
from policies import health_checks
from tests.policies.graph import baseline, check_one, named, only, with_props

POLICY = "health-checks"
BACKEND = "appstack-backend-container"


def backend(**changes: Any) -> list[Any]:
    return check_one(health_checks.check, with_props(named(baseline(), BACKEND), **changes))


def test_baseline_containers_are_clean() -> None:
    for resource in baseline("dev"):
        assert check_one(health_checks.check, resource) == [], resource.name


@pytest.mark.parametrize(
    ("healthcheck", "problem"),
    [
        (None, "has no healthcheck"),
        (UNKNOWN, "unknown at preview"),
        ({"interval": "2s"}, "without tests"),
        ({"tests": []}, "without tests"),
        ({"tests": ["NONE"]}, "disables its healthcheck"),
        ({"tests": ["CMD-SHELL"]}, "CMD-SHELL without a command"),
        ({"tests": ["CMD", " "]}, "CMD without a command"),
        ({"tests": ["CMD", UNKNOWN]}, "not all known strings"),
        ({"tests": UNKNOWN}, "without tests"),
    ],
)
def test_missing_or_hollow_health_check_is_refused(healthcheck: Any, problem: str) -> None:
    violation = only(backend(healthcheck=healthcheck), POLICY, BACKEND)
    assert problem in violation.message


@pytest.mark.parametrize("wait", [None, False, UNKNOWN])
def test_not_waiting_is_refused(wait: Any) -> None:
    violation = only(backend(wait=wait), POLICY, BACKEND)
    assert "does not set wait=true" in violation.message


def test_one_shot_containers_are_exempt() -> None:
    assert backend(mustRun=False, healthcheck=None, wait=False) == []


def test_must_run_unset_counts_as_long_running() -> None:
    only(backend(mustRun=None, healthcheck=None), POLICY, BACKEND)


def test_both_problems_are_reported() -> None:
    violations = backend(healthcheck=None, wait=False)
    assert [v.policy for v in violations] == [POLICY, POLICY]
