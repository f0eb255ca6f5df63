"""data-kept-in-prod: stateful volumes and buckets are protected (and retained) in prod."""

from __future__ import annotations

from dataclasses import replace

import pytest

from appstack.contract import UNKNOWN
from policies import data_kept_in_prod
from tests.policies.graph import baseline, check_one, named, only, with_label

POLICY = "data-kept-in-prod"
STATEFUL = [
    "appstack-database-data",
    "appstack-objectstore-data",
    "appstack-objectstore-bucket-temp",
]


def test_baselines_are_clean() -> None:
    for stack in ("dev", "prod"):
        for resource in baseline(stack):
            assert check_one(data_kept_in_prod.check, resource, stack) == [], resource.name


@pytest.mark.parametrize("name", STATEFUL)
def test_unprotected_stateful_resource_is_refused_in_prod(name: str) -> None:
    resource = replace(named(baseline("prod"), name), protect=False)
    violation = only(check_one(data_kept_in_prod.check, resource, "prod"), POLICY, name)
    assert "lacks protect=True" in violation.message
    assert violation.mandatory


@pytest.mark.parametrize("name", STATEFUL)
def test_not_retained_on_delete_is_refused_in_prod(name: str) -> None:
    resource = replace(named(baseline("prod"), name), retain_on_delete=False)
    violation = only(check_one(data_kept_in_prod.check, resource, "prod"), POLICY, name)
    assert "lacks retain_on_delete=True" in violation.message


def test_retain_on_delete_unknown_to_the_source_is_not_held_against_it() -> None:
    # The policy pack cannot see retain_on_delete: only protect is enforced there.
    resource = replace(named(baseline("prod"), "appstack-database-data"), retain_on_delete=None)
    assert check_one(data_kept_in_prod.check, resource, "prod") == []


def test_both_missing_are_named_together() -> None:
    resource = replace(
        named(baseline("prod"), "appstack-database-data"), protect=False, retain_on_delete=False
    )
    violation = only(
        check_one(data_kept_in_prod.check, resource, "prod"), POLICY, "appstack-database-data"
    )
    assert "protect=True and retain_on_delete=True" in violation.message


def test_unprotected_data_is_fine_outside_prod() -> None:
    for resource in baseline("dev"):
        assert not resource.protect
        assert check_one(data_kept_in_prod.check, resource, "dev") == []


def test_unknown_stateful_label_counts_as_stateful() -> None:
    volume = with_label(
        named(baseline("dev"), "appstack-database-data"), "appstack.stateful", UNKNOWN
    )
    only(check_one(data_kept_in_prod.check, volume, "prod"), POLICY, "appstack-database-data")


def test_volume_not_labelled_stateful_is_ignored() -> None:
    volume = with_label(named(baseline("dev"), "appstack-database-data"), "appstack.stateful", None)
    assert check_one(data_kept_in_prod.check, volume, "prod") == []
