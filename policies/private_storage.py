"""Private, expiring storage (mandatory, high).

Why: buckets were created by hand with a script; the frontend must never reach MinIO directly
(the backend hands out presigned URLs), and temporary files were meant to disappear after 7 days
but nothing enforced it.

Rule: every appstack ``Bucket`` has ``access`` equal to ``"private"`` (absent or unknown is
refused: anonymous access must be ruled out, not assumed), and a bucket whose ``role`` is
``temp`` has at least one enabled lifecycle rule with a positive ``expiration_days`` that covers
the whole bucket: an empty ``prefix`` (a rule limited to a prefix leaves every other object
forever, and a prefix not known at preview cannot be counted on).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from appstack.contract import BUCKET, is_unknown
from policies.model import PolicyContext, PolicySpec, Resource, Violation, is_positive_whole_number

SPEC = PolicySpec(
    name="private-storage",
    description="Buckets are private; the temp bucket expires its objects.",
    mandatory=True,
    severity="high",
)

TEMP_ROLE = "temp"


def _is_expiring_rule(rule: Any) -> bool:
    if not isinstance(rule, Mapping):
        return False
    status = rule.get("status", "Enabled")
    days = rule.get("expiration_days")
    prefix = rule.get("prefix", "")
    enabled = status is True or (isinstance(status, str) and status.lower() == "enabled")
    whole_bucket = prefix is None or prefix == ""
    return enabled and whole_bucket and is_positive_whole_number(days)


def has_expiration_rule(resource: Resource) -> bool:
    """True when ``lifecycle_rules`` holds an enabled rule with a positive ``expiration_days``
    and no prefix, so that every object of the bucket expires."""
    rules = resource.props.get("lifecycle_rules")
    if not isinstance(rules, Sequence) or isinstance(rules, str):
        return False
    return any(_is_expiring_rule(rule) for rule in rules)


def check(resource: Resource, ctx: PolicyContext) -> list[Violation]:
    """Violations of private-storage for one resource (appstack buckets only)."""
    if resource.type != BUCKET:
        return []
    violations = []
    access = resource.props.get("access")
    if access != "private":
        shown = "unknown at preview" if is_unknown(access) else repr(access)
        violations.append(
            SPEC.violation(
                resource,
                f"{resource.name} has access {shown}; buckets must be 'private' (clients get "
                "presigned URLs from the backend, never anonymous access).",
            )
        )
    if resource.props.get("role") == TEMP_ROLE and not has_expiration_rule(resource):
        violations.append(
            SPEC.violation(
                resource,
                f"{resource.name} is the temp bucket but has no enabled lifecycle rule with "
                "expiration_days over the whole bucket (empty prefix): temporary objects would "
                "never be deleted (set objectStore.buckets[role=temp].expirationDays, e.g. 7, "
                "and no prefix).",
            )
        )
    return violations
