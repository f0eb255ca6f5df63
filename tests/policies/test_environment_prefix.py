"""environment-prefix (advisory): Docker objects and buckets carry their stack's prefix."""

from __future__ import annotations

import pytest

from appstack.contract import UNKNOWN
from policies import environment_prefix
from tests.policies.graph import baseline, check_one, named, only, with_props

POLICY = "environment-prefix"


@pytest.mark.parametrize("stack", ["dev", "stage", "prod", "ci"])
def test_baselines_are_clean(stack: str) -> None:
    for resource in baseline(stack):
        assert check_one(environment_prefix.check, resource, stack) == [], resource.name


@pytest.mark.parametrize(
    ("name", "prop", "value"),
    [
        ("appstack-database-container", "name", "database"),
        ("appstack-database-data", "name", "prod-database-data"),
        ("appstack-network", "name", "devnetwork"),
        ("appstack-objectstore-bucket-temp", "bucket_name", "appstack-temp"),
    ],
)
def test_missing_prefix_is_advised(name: str, prop: str, value: str) -> None:
    resource = with_props(named(baseline("dev"), name), **{prop: value})
    violation = only(check_one(environment_prefix.check, resource, "dev"), POLICY, name)
    assert f"{prop} '{value}' does not start with 'dev-'" in violation.message
    assert not violation.mandatory


def test_unknown_name_is_advised() -> None:
    resource = with_props(named(baseline("dev"), "appstack-cache-container"), name=UNKNOWN)
    violation = only(
        check_one(environment_prefix.check, resource, "dev"), POLICY, "appstack-cache-container"
    )
    assert "unknown at preview" in violation.message


def test_other_types_are_ignored() -> None:
    image = named(baseline("dev"), "appstack-cache-image")
    assert check_one(environment_prefix.check, image, "dev") == []
