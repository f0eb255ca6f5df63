"""private-storage: buckets are private; the temp bucket has an enabled expiration rule."""

from __future__ import annotations

from typing import Any

import pytest

from appstack.contract import UNKNOWN
from policies import private_storage
from tests.policies.graph import baseline, check_one, named, only, with_props

POLICY = "private-storage"
TEMP = "appstack-objectstore-bucket-temp"


def test_baseline_buckets_are_clean() -> None:
    for resource in baseline("prod"):
        assert check_one(private_storage.check, resource, "prod") == [], resource.name


@pytest.mark.parametrize(
    ("access", "shown"),
    [("download", "'download'"), ("public", "'public'"), (None, "None"), (UNKNOWN, "unknown")],
)
def test_non_private_access_is_refused(access: Any, shown: str) -> None:
    bucket = with_props(named(baseline(), "appstack-objectstore-bucket-assets"), access=access)
    violation = only(
        check_one(private_storage.check, bucket), POLICY, "appstack-objectstore-bucket-assets"
    )
    assert f"has access {shown}" in violation.message
    assert "must be 'private'" in violation.message


@pytest.mark.parametrize(
    "rules",
    [
        [],
        None,
        UNKNOWN,
        [{"id": "expire", "status": "Disabled", "expiration_days": 7}],
        [{"id": "expire", "status": "Enabled", "expiration_days": 0}],
        [{"id": "expire", "status": "Enabled", "expiration_days": 0.0}],
        [{"id": "expire", "status": "Enabled", "expiration_days": 6.5}],
        [{"id": "expire", "status": "Enabled", "expiration_days": True}],
        [{"id": "expire", "status": "Enabled", "expiration_days": "7"}],
        [{"id": "expire", "status": "Enabled", "expiration_days": UNKNOWN}],
        [{"id": "abort", "status": "Enabled", "abort_incomplete_multipart_days": 1}],
        [{"id": "old", "status": "Enabled", "noncurrent_version_expiration_days": 7}],
        [{"id": "expire", "status": "Enabled", "expiration_days": 7, "prefix": "tmp/"}],
        [{"id": "expire", "status": "Enabled", "expiration_days": 7, "prefix": UNKNOWN}],
        [{"id": "expire", "status": "Enabled", "expiration_days": 7, "prefix": 0}],
        [
            {"id": "a", "status": "Enabled", "expiration_days": 7, "prefix": "uploads/"},
            {"id": "b", "status": "Enabled", "expiration_days": 7, "prefix": "exports/"},
        ],
    ],
)
def test_temp_bucket_without_enabled_expiration_is_refused(rules: Any) -> None:
    bucket = with_props(named(baseline(), TEMP), lifecycle_rules=rules)
    violation = only(check_one(private_storage.check, bucket), POLICY, TEMP)
    assert "no enabled lifecycle rule with expiration_days" in violation.message


def test_expiration_is_only_required_of_the_temp_bucket() -> None:
    assets = with_props(named(baseline(), "appstack-objectstore-bucket-assets"), lifecycle_rules=[])
    assert check_one(private_storage.check, assets) == []


def test_one_enabled_expiring_rule_suffices() -> None:
    rules = [
        {"id": "off", "status": "Disabled", "expiration_days": 1},
        {"id": "on", "status": "enabled", "expiration_days": 7},
    ]
    bucket = with_props(named(baseline(), TEMP), lifecycle_rules=rules)
    assert check_one(private_storage.check, bucket) == []


def test_days_arriving_as_floats_count_as_whole_days() -> None:
    """The engine sends every number as a float: a temp bucket with 7.0 days is compliant."""
    rules = [{"id": "expire-objects", "status": "Enabled", "expiration_days": 7.0}]
    bucket = with_props(named(baseline(), TEMP), lifecycle_rules=rules)
    assert check_one(private_storage.check, bucket) == []


def test_an_expiry_over_the_whole_bucket_counts_beside_prefixed_ones() -> None:
    rules = [
        {"id": "soon", "status": "Enabled", "expiration_days": 1, "prefix": "thumbs/"},
        {"id": "all", "status": "Enabled", "expiration_days": 7, "prefix": ""},
    ]
    bucket = with_props(named(baseline(), TEMP), lifecycle_rules=rules)
    assert check_one(private_storage.check, bucket) == []
    rules[1].pop("prefix")
    assert check_one(private_storage.check, with_props(bucket, lifecycle_rules=rules)) == []
