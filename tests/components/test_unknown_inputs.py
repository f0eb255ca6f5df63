"""The dynamic providers leave values unknown at preview alone, in the form the engine sends them.

Under the real engine (CLI 3.259, SDK 3.272) a computed input reaches a dynamic provider's
`check` as a `pulumi.output.Unknown` instance, not as the wire string the mocks record: a fresh
stack's bucket, whose generated keys are unknown at preview, was refused ("must be a non-empty
string") until the providers judged unknowns with `appstack.contract.is_unknown`.
"""

from __future__ import annotations

from typing import Any

import pulumi.output
import pulumi.runtime.rpc
import pytest

from appstack.bucket import BucketProvider
from appstack.pgvector import PgvectorExtensionProvider

UNKNOWNS = [pulumi.output.Unknown(), pulumi.runtime.rpc.UNKNOWN]


def bucket(**unknown: Any) -> dict[str, Any]:
    return {
        "bucket_name": "qa-files-uploads",
        "endpoint": "127.0.0.1:9000",
        "access_key": "access",
        "secret_key": "secret",
        "lifecycle_rules": [{"id": "expire-objects", "expiration_days": 7}],
        **unknown,
    }


@pytest.mark.parametrize("unknown", UNKNOWNS, ids=["engine", "wire"])
def test_a_bucket_with_unknown_keys_and_endpoint_passes_check(unknown: Any) -> None:
    news = bucket(access_key=unknown, secret_key=unknown, endpoint=unknown, tags=unknown)
    assert BucketProvider().check({}, news).failures == []


@pytest.mark.parametrize("unknown", UNKNOWNS, ids=["engine", "wire"])
def test_a_bucket_diff_with_unknown_settings_is_an_update_without_a_server(unknown: Any) -> None:
    olds = BucketProvider().check({}, bucket()).inputs
    result = BucketProvider().diff("qa-files-uploads", olds, {**olds, "versioning": unknown})
    assert result.changes is True and result.replaces == []


@pytest.mark.parametrize("unknown", UNKNOWNS, ids=["engine", "wire"])
def test_a_pgvector_check_with_an_unknown_password_and_port_passes(unknown: Any) -> None:
    news = {
        "host": "127.0.0.1",
        "port": unknown,
        "database": "app",
        "user": "app",
        "password": unknown,
        "image": "pgvector/pgvector:pg17",
        "connect_timeout_seconds": 10,
    }
    assert PgvectorExtensionProvider().check({}, news).failures == []


def test_known_bad_values_are_still_refused() -> None:
    failures = BucketProvider().check({}, bucket(access_key="", endpoint="http://x")).failures
    assert {failure.property for failure in failures} == {"access_key", "endpoint"}
