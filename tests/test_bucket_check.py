"""Bucket provider logic that needs no server: input validation, parsing, comparison."""

from __future__ import annotations

from typing import Any

import dill
import pulumi
import pytest

from appstack.bucket import (
    Bucket,
    BucketArgs,
    BucketProvider,
    LifecycleRule,
    bucket_name_problems,
    carry_unreadable_fields,
    classify_policy,
    download_policy,
    live_differences,
    normalize_rule,
    parse_lifecycle,
    parse_tags,
    parse_versioning,
    stale_uploads_expiry,
)
from appstack.contract import WIRE_UNKNOWN as UNKNOWN


def valid_inputs(**changes: Any) -> dict[str, Any]:
    """A compliant baseline: the standard backups bucket."""
    inputs: dict[str, Any] = {
        "bucket_name": "dev-sparklio-backups",
        "endpoint": "127.0.0.1:9000",
        "access_key": "access",
        "secret_key": "secret-value",
        "versioning": True,
        "lifecycle_rules": [
            {"id": "abort-multipart", "abort_incomplete_multipart_days": 7},
            {"id": "old-versions", "noncurrent_version_expiration_days": 30},
        ],
        "tags": {"env": "dev", "role": "backups"},
        "role": "backups",
    }
    inputs.update(changes)
    return inputs


def failures(inputs: dict[str, Any]) -> list[tuple[str, str]]:
    result = BucketProvider().check({}, inputs)
    return [(f.property, f.reason) for f in result.failures]


def test_valid_inputs_pass_and_get_defaults() -> None:
    result = BucketProvider().check({}, valid_inputs())
    assert result.failures == []
    assert result.inputs["access"] == "private"
    assert result.inputs["force_destroy"] is False
    assert result.inputs["secure"] is False
    assert result.inputs["lifecycle_rules"][0] == {
        "id": "abort-multipart",
        "status": "Enabled",
        "prefix": "",
        "expiration_days": None,
        "abort_incomplete_multipart_days": 7,
        "noncurrent_version_expiration_days": None,
    }


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("ab", "3 to 63 characters"),
        ("a" * 64, "3 to 63 characters"),
        ("Dev-Assets", "lowercase letters"),
        ("dev_assets", "lowercase letters"),
        ("-dev-assets", "begin and end"),
        ("dev-assets.", "begin and end"),
        ("dev..assets", "two adjacent dots"),
        ("dev.-assets", "dot next to a hyphen"),
        ("192.168.1.10", "IP address"),
        ("xn--assets", "reserved prefixes"),
        ("assets-s3alias", "reserved suffixes"),
    ],
)
def test_bucket_name_rules(name: str, reason: str) -> None:
    found = failures(valid_inputs(bucket_name=name))
    assert any(prop == "bucket_name" and reason in text for prop, text in found), found


def test_good_bucket_names() -> None:
    for name in ("abc", "prod-sparklio-assets", "a.b-c1", "1" * 63):
        assert bucket_name_problems(name) == []


@pytest.mark.parametrize("days", [0, -1, 1.5, "7", True])
def test_days_must_be_positive_whole_numbers(days: Any) -> None:
    rules = [{"id": "temp", "expiration_days": days}]
    found = failures(valid_inputs(lifecycle_rules=rules))
    assert (
        "lifecycle_rules[0].expiration_days",
        f"must be a whole number of days > 0 (got {days!r})",
    ) in found


def test_duplicate_rule_ids() -> None:
    rules = [{"id": "x", "expiration_days": 1}, {"id": "x", "expiration_days": 2}]
    found = failures(valid_inputs(lifecycle_rules=rules))
    assert found == [("lifecycle_rules[1].id", "duplicate rule id 'x'")]


def test_noncurrent_rule_needs_versioning() -> None:
    found = failures(valid_inputs(versioning=False))
    assert len(found) == 1
    prop, reason = found[0]
    assert prop == "lifecycle_rules[1].noncurrent_version_expiration_days"
    assert "versioning=True" in reason


def test_rule_without_action_and_bad_fields() -> None:
    rules = [{"id": "", "status": "On", "prefix": 3, "expires": 5}]
    props = {prop for prop, _ in failures(valid_inputs(lifecycle_rules=rules))}
    assert props == {
        "lifecycle_rules[0]",
        "lifecycle_rules[0].id",
        "lifecycle_rules[0].status",
        "lifecycle_rules[0].prefix",
    }
    found = failures(valid_inputs(lifecycle_rules=[{"id": "noop"}]))
    assert len(found) == 1 and "has no action" in found[0][1]


def test_access_endpoint_tags_and_flags() -> None:
    found = dict(
        failures(
            valid_inputs(
                access="public-read-write",
                endpoint="http://127.0.0.1:9000/",
                tags={"k": "v" * 300},
                force_destroy="yes",
                access_key="",
            )
        )
    )
    assert "must be one of ['private', 'download']" in found["access"]
    assert "host:port" in found["endpoint"]
    assert "256 characters" in found["tags['k']"]
    assert "true or false" in found["force_destroy"]
    assert found["access_key"] == "must be a non-empty string"


def test_secrets_never_in_check_failures() -> None:
    found = failures(valid_inputs(bucket_name="BAD", access="nope"))
    assert found and all("secret-value" not in reason for _, reason in found)


def test_unknown_values_are_not_judged_at_preview() -> None:
    assert failures(valid_inputs(endpoint=UNKNOWN, bucket_name=UNKNOWN, versioning=UNKNOWN)) == []


def test_unknowns_as_the_engine_sends_them_are_not_judged_at_preview() -> None:
    """At the preview of a new stack the generated keys are unknown; this SDK's dynamic-provider
    server hands `check` pulumi.output.Unknown objects, not the wire's string sentinel."""
    unknown = pulumi.output.UNKNOWN
    inputs = valid_inputs(access_key=unknown, secret_key=unknown, endpoint=unknown)
    assert failures(inputs) == []
    olds = BucketProvider().check({}, valid_inputs()).inputs
    assert BucketProvider().diff("id", olds, {**olds, "secret_key": unknown}).changes is not False


def test_diff_replaces_on_a_new_name_without_a_server() -> None:
    olds = BucketProvider().check({}, valid_inputs()).inputs
    result = BucketProvider().diff("id", olds, {**olds, "bucket_name": "dev-sparklio-backups2"})
    assert result.changes is True
    assert result.replaces == ["bucket_name"]


@pytest.mark.parametrize(
    ("key", "value"),
    [("endpoint", "127.0.0.1:1"), ("endpoint", "10.0.0.5:9000"), ("endpoint", UNKNOWN)],
)
def test_a_new_endpoint_is_an_update_decided_without_the_server(key: str, value: Any) -> None:
    """Another port or bind address reaches the same bucket: replacing it would create it again
    before deleting it on the same server ("already exists"). During a preview the server may
    not listen there yet, so the diff does not read it (port 1 would refuse)."""
    olds = BucketProvider().check({}, valid_inputs()).inputs
    result = BucketProvider().diff("id", olds, {**olds, key: value})
    assert result.changes is True
    assert result.replaces == []
    assert not result.delete_before_replace


def test_diff_with_unknown_inputs_is_an_update_without_reading() -> None:
    olds = BucketProvider().check({}, valid_inputs(endpoint="127.0.0.1:1")).inputs
    result = BucketProvider().diff("id", olds, {**olds, "tags": UNKNOWN})
    assert result.changes is True
    assert result.replaces == []


def test_live_differences() -> None:
    declared = BucketProvider().check({}, valid_inputs()).inputs
    live: dict[str, Any] = {
        "versioning": True,
        "lifecycle_rules": list(reversed(declared["lifecycle_rules"])),
        "tags": {"role": "backups", "env": "dev"},
        "access": "private",
    }
    assert live_differences(declared, live) == []
    drifted = {
        **live,
        "versioning": False,
        "lifecycle_rules": live["lifecycle_rules"][:1],
        "tags": {},
        "access": "custom",
    }
    assert live_differences(declared, drifted) == [
        "versioning",
        "lifecycle_rules",
        "tags",
        "access",
    ]


def test_what_minio_cannot_report_is_carried_from_state() -> None:
    known = [
        normalize_rule(
            LifecycleRule(id="temp", expiration_days=7, abort_incomplete_multipart_days=2)
        ),
        normalize_rule(LifecycleRule(id="abort-only", abort_incomplete_multipart_days=1)),
    ]
    live = [normalize_rule({"id": "temp", "expiration_days": 7})]
    assert carry_unreadable_fields(live, known) == known
    # A rule with an expiration that is gone from the server stays gone: that is drift.
    assert carry_unreadable_fields([], known) == known[1:]


def test_stale_uploads_expiry_is_the_strictest_abort() -> None:
    assets = [LifecycleRule(id="a", abort_incomplete_multipart_days=3)]
    temp = [{"id": "t", "expiration_days": 7.0, "abort_incomplete_multipart_days": 1.0}]
    assert stale_uploads_expiry([assets, temp]) == "24h"
    assert stale_uploads_expiry([assets]) == "72h"
    assert stale_uploads_expiry([[]]) == "24h"


def test_engine_floats_are_whole_days() -> None:
    rules = [{"id": "temp", "expiration_days": 7.0}]
    result = BucketProvider().check({}, valid_inputs(lifecycle_rules=rules))
    assert result.failures == []
    assert result.inputs["lifecycle_rules"][0]["expiration_days"] == 7


def test_parse_minio_export_documents() -> None:
    lifecycle = (
        b"<LifecycleConfiguration><Rule><ID>temp</ID><Status>Enabled</Status>"
        b"<Filter><Prefix>tmp/</Prefix></Filter><Expiration><Days>7</Days></Expiration></Rule>"
        b"<Rule><ID>old</ID><Status>Disabled</Status><Filter></Filter>"
        b"<NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays>"
        b"</NoncurrentVersionExpiration></Rule></LifecycleConfiguration>"
    )
    assert parse_lifecycle(lifecycle) == [
        normalize_rule({"id": "temp", "prefix": "tmp/", "expiration_days": 7}),
        normalize_rule(
            {"id": "old", "status": "Disabled", "noncurrent_version_expiration_days": 30}
        ),
    ]
    tagging = (
        b'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>'
        b"<Tag><Key>env</Key><Value>dev</Value></Tag></TagSet></Tagging>"
    )
    assert parse_tags(tagging) == {"env": "dev"}
    assert parse_versioning(
        b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
    )
    assert not parse_versioning(
        b"<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>"
    )
    assert not parse_versioning(None)


def test_classify_policy() -> None:
    assert classify_policy("b", None) == "private"
    assert classify_policy("b", download_policy("b")) == "download"
    minio_style = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
            }
        ],
    }
    assert classify_policy("b", minio_style) == "download"
    wider = download_policy("b")
    wider["Statement"][0]["Action"] = ["s3:GetObject", "s3:PutObject"]
    assert classify_policy("b", wider) == "custom"


def test_provider_pickles_with_dill() -> None:
    provider = dill.loads(dill.dumps(BucketProvider(), recurse=True))
    assert provider.check({}, valid_inputs()).failures == []


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every registered resource so the test can look at type and inputs."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        return args.name + "-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


@pulumi.runtime.test
def test_bucket_resource_registers_plain_inputs_and_secret_credentials() -> Any:
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, preview=False)
    bucket = Bucket(
        "temp",
        BucketArgs(
            bucket_name="dev-sparklio-temp",
            endpoint="127.0.0.1:9000",
            access_key="access",
            secret_key="secret-value",
            lifecycle_rules=[LifecycleRule(id="temp-expiry", expiration_days=7)],
            role="temp",
        ),
    )

    def verify(values: list[Any]) -> None:
        secret_is_secret, rules = values
        [registered] = mocks.resources
        assert registered.typ == "pulumi-python:dynamic/appstack:Bucket"
        # The engine drops None fields and turns numbers into floats; the provider normalizes.
        assert [normalize_rule(rule) for rule in registered.inputs["lifecycle_rules"]] == [
            normalize_rule({"id": "temp-expiry", "expiration_days": 7})
        ]
        assert registered.inputs["access"] == "private"
        assert "__provider" in registered.inputs
        assert secret_is_secret is True
        assert rules[0]["expiration_days"] == 7

    return pulumi.Output.all(bucket.secret_key.is_secret(), bucket.lifecycle_rules).apply(verify)
