"""verify takes the buckets a stack declares from the stack's outputs (no server needed here)."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.verify import CheckFailed, bucket_checks, declared_buckets

OUTPUTS: dict[str, Any] = {
    "environment": "qa",
    "objectStore": {
        "buckets": {"temp": "qa-shop-temp"},
        "bucketConfig": {
            "temp": {
                "name": "qa-shop-temp",
                "versioning": False,
                "lifecycleRules": [
                    {
                        "id": "expire-objects",
                        "status": "Enabled",
                        "prefix": "",
                        "expiration_days": 3.0,
                    }
                ],
            }
        },
    },
}


def test_the_declared_buckets_are_the_outputs_bucket_config() -> None:
    """A stack this checkout has no file for (qa) and days as the engine sends them (floats)."""
    declared = declared_buckets(OUTPUTS)

    assert list(declared) == ["temp"]
    temp = declared["temp"]
    assert (temp.name, temp.versioning) == ("qa-shop-temp", False)
    assert temp.rules[0]["expiration_days"] == 3
    assert temp.rules[0]["abort_incomplete_multipart_days"] is None


def test_outputs_without_bucket_config_fail_every_bucket_check() -> None:
    outputs = {"environment": "qa", "objectStore": {"buckets": {"temp": "qa-shop-temp"}}}

    with pytest.raises(CheckFailed, match=r"no objectStore\.bucketConfig"):
        declared_buckets(outputs)
    checks = bucket_checks(outputs, timeout=1.0, host="127.0.0.1")
    assert [name for name, _check in checks] == ["bucket temp"]
    with pytest.raises(CheckFailed, match="run `pulumi up` once to export it"):
        checks[0][1]()


def test_a_malformed_bucket_config_is_a_failed_check_not_a_crash() -> None:
    outputs = {"objectStore": {"bucketConfig": {"temp": {"name": "x", "lifecycleRules": 7}}}}

    with pytest.raises(CheckFailed, match=r"bucketConfig.temp is not \{name, versioning"):
        declared_buckets(outputs)
