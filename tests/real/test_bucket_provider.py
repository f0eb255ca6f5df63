"""BucketProvider against a real MinIO server on loopback (fixture `minio_server` from
tests/realservers/fixtures.py, loaded by tests/conftest.py).

Provider methods are called with plain property bags, as the engine passes them (numbers as
floats), on a provider that went through Pulumi's own serialization (dill) first.
"""

from __future__ import annotations

import base64
import io
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dill
import pytest
import urllib3
from minio import Minio
from minio.commonconfig import ENABLED, Filter
from minio.lifecycleconfig import Expiration, LifecycleConfig, Rule
from minio.versioningconfig import SUSPENDED, VersioningConfig
from pulumi.dynamic.dynamic import serialize_provider

from appstack.bucket import BucketError, BucketProvider
from tests.realservers.minio import MinioServer

pytestmark = pytest.mark.real

TEMP_RULES = [
    {"id": "temp-expiry", "expiration_days": 7.0, "abort_incomplete_multipart_days": 1.0},
]
BACKUP_RULES = [
    {"id": "abort-multipart", "abort_incomplete_multipart_days": 1.0},
    {"id": "old-versions", "noncurrent_version_expiration_days": 30.0},
]


def engine_provider() -> BucketProvider:
    """The provider as the engine gets it: serialized by Pulumi, then `dill.loads`."""
    provider = dill.loads(base64.b64decode(serialize_provider(BucketProvider())))
    assert isinstance(provider, BucketProvider)
    return provider


def props_for(server: MinioServer, role: str, **changes: Any) -> dict[str, Any]:
    """Checked inputs for a fresh, uniquely named bucket of the given role."""
    props: dict[str, Any] = {
        "bucket_name": f"test-{secrets.token_hex(4)}-{role}",
        "endpoint": server.endpoint,
        "access_key": server.access_key,
        "secret_key": server.secret_key,
        "lifecycle_rules": TEMP_RULES if role == "temp" else [],
        "versioning": False,
        "tags": {"env": "test", "role": role},
        "role": role,
    }
    if role == "backups":
        props.update(versioning=True, lifecycle_rules=BACKUP_RULES)
    props.update(changes)
    result = BucketProvider().check({}, props)
    assert result.failures == [], result.failures
    return result.inputs


def sdk(server: MinioServer) -> Minio:
    return Minio(server.endpoint, server.access_key, server.secret_key, secure=False)


@contextmanager
def created(
    server: MinioServer, provider: BucketProvider, role: str, **changes: Any
) -> Iterator[dict[str, Any]]:
    """A bucket created through the provider (its outputs); force-deleted afterwards."""
    props = props_for(server, role, **changes)
    result = provider.create(props)
    assert result.id == props["bucket_name"]
    try:
        yield result.outs or {}
    finally:
        provider.delete(props["bucket_name"], {**props, "force_destroy": True})


@pytest.fixture
def provider() -> BucketProvider:
    return engine_provider()


@pytest.fixture
def temp_bucket(minio_server: MinioServer, provider: BucketProvider) -> Iterator[dict[str, Any]]:
    """A created temp bucket (its outputs); force-deleted after the test."""
    with created(minio_server, provider, "temp") as outs:
        yield outs


def test_create_then_read_shows_the_declared_configuration(
    minio_server: MinioServer, provider: BucketProvider
) -> None:
    with created(minio_server, provider, "backups") as state:
        name = state["bucket_name"]
        assert sdk(minio_server).bucket_exists(name)
        read = provider.read(name, state)
        assert read.id == name
        outs = read.outs or {}
        assert outs["versioning"] is True
        assert outs["tags"] == {"env": "test", "role": "backups"}
        assert outs["access"] == "private"
        # Abort-only rules live in state (MinIO has no per-bucket form); the rest is read back.
        by_id = {rule["id"]: rule for rule in outs["lifecycle_rules"]}
        assert by_id == {rule["id"]: rule for rule in state["lifecycle_rules"]}
        server_rules = sdk(minio_server).get_bucket_lifecycle(name)
        assert server_rules is not None
        assert [rule.rule_id for rule in server_rules.rules] == ["old-versions"]
        assert outs["secret_key"] == minio_server.secret_key  # state keeps it (marked secret)
        noop = provider.diff(name, state, state)
        assert noop.changes is False
        assert not noop.replaces


def test_server_side_lifecycle_really_has_the_rules(
    minio_server: MinioServer, temp_bucket: dict[str, Any]
) -> None:
    config = sdk(minio_server).get_bucket_lifecycle(temp_bucket["bucket_name"])
    assert config is not None
    days = {rule.rule_id: rule.expiration.days for rule in config.rules if rule.expiration}
    assert days == {"temp-expiry": 7}


def test_update_changes_rules_in_place(
    minio_server: MinioServer, provider: BucketProvider, temp_bucket: dict[str, Any]
) -> None:
    name = temp_bucket["bucket_name"]
    client = sdk(minio_server)
    client.put_object(name, "tmp/keep.txt", io.BytesIO(b"still here"), 10)
    news = {
        **temp_bucket,
        "lifecycle_rules": [
            {**TEMP_RULES[0], "expiration_days": 3.0},
            {"id": "scratch", "prefix": "scratch/", "expiration_days": 1.0},
        ],
        "tags": {"env": "test", "role": "temp", "owner": "qa"},
    }
    news = provider.check(temp_bucket, news).inputs
    planned = provider.diff(name, temp_bucket, news)
    assert planned.changes is True
    assert planned.replaces == []
    outs = provider.update(name, temp_bucket, news).outs or {}
    live = provider.read(name, outs).outs or {}
    assert {(r["id"], r["expiration_days"], r["prefix"]) for r in live["lifecycle_rules"]} == {
        ("temp-expiry", 3, ""),
        ("scratch", 1, "scratch/"),
    }
    assert live["tags"]["owner"] == "qa"
    assert client.get_object(name, "tmp/keep.txt").read() == b"still here"  # same bucket
    assert provider.diff(name, outs, news).changes is False


def test_drift_made_with_the_sdk_is_seen_and_repaired(
    minio_server: MinioServer, provider: BucketProvider, temp_bucket: dict[str, Any]
) -> None:
    name = temp_bucket["bucket_name"]
    client = sdk(minio_server)
    # Behind the provider's back: the expiry becomes 30 days, the tags go, the bucket goes public.
    client.set_bucket_lifecycle(
        name,
        LifecycleConfig(
            [
                Rule(
                    ENABLED,
                    rule_filter=Filter(prefix=""),
                    rule_id="temp-expiry",
                    expiration=Expiration(days=30),
                )
            ]
        ),
    )
    client.delete_bucket_tags(name)
    public = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["*"]},
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": [f"arn:aws:s3:::{name}/*"],
            }
        ],
    }
    client.set_bucket_policy(name, json.dumps(public))

    refreshed = provider.read(name, temp_bucket).outs or {}
    assert [(r["id"], r["expiration_days"]) for r in refreshed["lifecycle_rules"]] == [
        ("temp-expiry", 30)
    ]
    assert refreshed["tags"] == {}
    assert refreshed["access"] == "custom"
    # Even against stale state (no refresh), diff looks at the server.
    planned = provider.diff(name, temp_bucket, temp_bucket)
    assert planned.changes is True and planned.replaces == []

    provider.update(name, refreshed, temp_bucket)
    repaired = provider.read(name, temp_bucket).outs or {}
    assert [(r["id"], r["expiration_days"]) for r in repaired["lifecycle_rules"]] == [
        ("temp-expiry", 7)
    ]
    assert repaired["tags"] == temp_bucket["tags"]
    assert repaired["access"] == "private"
    assert provider.diff(name, temp_bucket, temp_bucket).changes is False


def test_rule_removed_by_hand_shows_on_refresh(
    minio_server: MinioServer, provider: BucketProvider, temp_bucket: dict[str, Any]
) -> None:
    name = temp_bucket["bucket_name"]
    sdk(minio_server).delete_bucket_lifecycle(name)
    refreshed = provider.read(name, temp_bucket).outs or {}
    assert refreshed["lifecycle_rules"] == []
    assert provider.diff(name, refreshed, temp_bucket).changes is True


def test_versioning_suspended_by_hand_is_drift(
    minio_server: MinioServer, provider: BucketProvider
) -> None:
    with created(minio_server, provider, "backups") as props:
        name = props["bucket_name"]
        sdk(minio_server).set_bucket_versioning(name, VersioningConfig(SUSPENDED))
        assert (provider.read(name, props).outs or {})["versioning"] is False
        assert provider.diff(name, props, props).changes is True
        provider.update(name, props, props)
        assert sdk(minio_server).get_bucket_versioning(name).status == ENABLED
        # Declaring versioning off suspends it (S3 cannot un-version a bucket).
        off = {**props, "versioning": False, "lifecycle_rules": TEMP_RULES}
        provider.update(name, props, off)
        assert sdk(minio_server).get_bucket_versioning(name).status == SUSPENDED
        assert provider.diff(name, off, off).changes is False


def test_a_new_name_replaces(provider: BucketProvider, temp_bucket: dict[str, Any]) -> None:
    name = temp_bucket["bucket_name"]
    renamed = {**temp_bucket, "bucket_name": name + "-2"}
    assert provider.diff(name, temp_bucket, renamed).replaces == ["bucket_name"]


def _same_server_another_way(endpoint: str) -> str:
    """The same MinIO reached through another endpoint string, as after a bind-address change."""
    host, _, port = endpoint.rpartition(":")
    assert host == "127.0.0.1", endpoint
    return f"localhost:{port}"


def test_a_new_endpoint_updates_the_same_bucket_in_place(
    minio_server: MinioServer, provider: BucketProvider, temp_bucket: dict[str, Any]
) -> None:
    """An endpoint change (port or bind address of the same server) keeps the bucket and data;
    as a replacement it would try to create the bucket again and fail with "already exists"."""
    name = temp_bucket["bucket_name"]
    client = sdk(minio_server)
    client.put_object(name, "tmp/keep.txt", io.BytesIO(b"still here"), 10)
    moved = provider.check(
        temp_bucket,
        {
            **temp_bucket,
            "endpoint": _same_server_another_way(minio_server.endpoint),
            "tags": {"env": "test", "role": "temp", "moved": "yes"},
        },
    ).inputs
    planned = provider.diff(name, temp_bucket, moved)
    assert planned.changes is True and planned.replaces == []
    outs = provider.update(name, temp_bucket, moved).outs or {}
    assert outs["endpoint"] == moved["endpoint"]
    assert client.get_object(name, "tmp/keep.txt").read() == b"still here"
    assert client.get_bucket_tags(name) == {"env": "test", "role": "temp", "moved": "yes"}
    assert provider.diff(name, outs, moved).changes is False


def test_an_update_through_an_endpoint_without_the_bucket_makes_it(
    minio_server: MinioServer, provider: BucketProvider
) -> None:
    props = props_for(minio_server, "temp")
    name = props["bucket_name"]
    olds = {**props, "endpoint": "127.0.0.1:1"}
    try:
        outs = provider.update(name, olds, props).outs or {}
        assert sdk(minio_server).bucket_exists(name)
        live = provider.read(name, outs).outs or {}
        assert [(r["id"], r["expiration_days"]) for r in live["lifecycle_rules"]] == [
            ("temp-expiry", 7)
        ]
    finally:
        provider.delete(name, {**props, "force_destroy": True})


def test_bucket_deleted_by_hand(minio_server: MinioServer, provider: BucketProvider) -> None:
    props = props_for(minio_server, "assets")
    name = props["bucket_name"]
    provider.create(props)
    sdk(minio_server).remove_bucket(name)
    assert provider.read(name, props).id == ""
    planned = provider.diff(name, props, props)
    assert planned.replaces == ["bucket_name"]
    assert planned.delete_before_replace is True
    provider.delete(name, props)  # already gone: nothing to do, no error


def test_delete_empty_bucket(minio_server: MinioServer, provider: BucketProvider) -> None:
    props = props_for(minio_server, "assets")
    provider.create(props)
    provider.delete(props["bucket_name"], props)
    assert not sdk(minio_server).bucket_exists(props["bucket_name"])


def test_delete_refuses_a_bucket_with_objects_unless_forced(
    minio_server: MinioServer, provider: BucketProvider
) -> None:
    props = props_for(minio_server, "backups")
    name = props["bucket_name"]
    provider.create(props)
    client = sdk(minio_server)
    client.put_object(name, "db/1.dump", io.BytesIO(b"v1"), 2)
    client.put_object(name, "db/1.dump", io.BytesIO(b"v2"), 2)  # a noncurrent version
    client.remove_object(name, "db/1.dump")  # a delete marker: no current object left
    with pytest.raises(BucketError, match=r"still holds objects.*force_destroy=True"):
        provider.delete(name, props)
    assert client.bucket_exists(name)
    provider.delete(name, {**props, "force_destroy": True})
    assert not client.bucket_exists(name)


def test_create_refuses_an_existing_bucket(
    minio_server: MinioServer, provider: BucketProvider, temp_bucket: dict[str, Any]
) -> None:
    with pytest.raises(BucketError, match=r"already exists.*pulumi import"):
        provider.create(temp_bucket)


def test_bad_credentials_fail_without_leaking_them(
    minio_server: MinioServer, provider: BucketProvider, temp_bucket: dict[str, Any]
) -> None:
    wrong = {**temp_bucket, "secret_key": "wrong-" + secrets.token_hex(8)}
    with pytest.raises(BucketError) as failure:
        provider.read(temp_bucket["bucket_name"], wrong)
    assert wrong["secret_key"] not in str(failure.value)
    assert minio_server.secret_key not in str(failure.value)
    assert "SignatureDoesNotMatch" in str(failure.value)


def test_bad_inputs_fail_check_before_any_call(minio_server: MinioServer) -> None:
    result = BucketProvider().check(
        {},
        {
            "bucket_name": "Dev_Assets",
            "endpoint": minio_server.endpoint,
            "access_key": minio_server.access_key,
            "secret_key": minio_server.secret_key,
            "lifecycle_rules": [{"id": "x", "noncurrent_version_expiration_days": 0.0}],
        },
    )
    props = {failure.property for failure in result.failures}
    assert props == {"bucket_name", "lifecycle_rules[0].noncurrent_version_expiration_days"}
    assert not sdk(minio_server).bucket_exists("dev-assets")


def test_dill_round_trip_then_use(minio_server: MinioServer) -> None:
    serialized = base64.b64decode(serialize_provider(BucketProvider()))
    assert minio_server.secret_key.encode() not in serialized
    assert b"PoolManager" not in serialized
    restored = dill.loads(dill.dumps(dill.loads(serialized), recurse=True))
    props = props_for(minio_server, "temp")
    outs = restored.create(props).outs or {}
    try:
        assert restored.diff(outs["bucket_name"], outs, props).changes is False
    finally:
        restored.delete(outs["bucket_name"], outs)
    assert not sdk(minio_server).bucket_exists(props["bucket_name"])


def test_presigned_put_then_get_on_the_assets_bucket(
    minio_server: MinioServer, provider: BucketProvider
) -> None:
    with created(minio_server, provider, "assets") as props:
        name = props["bucket_name"]
        client = sdk(minio_server)
        key = "image/brand-1/project-2/2025/01/31/3f1c.png"
        put_url = client.presigned_put_object(name, key)
        get_url = client.presigned_get_object(name, key)
        assert put_url.startswith(f"http://{minio_server.endpoint}/")
        http = urllib3.PoolManager()
        body = secrets.token_bytes(2048)
        assert http.request("PUT", put_url, body=body).status == 200
        fetched = http.request("GET", get_url)
        assert fetched.status == 200
        assert fetched.data == body


def test_anonymous_access_is_refused_unless_download(
    minio_server: MinioServer, provider: BucketProvider
) -> None:
    with created(minio_server, provider, "assets") as props:
        name = props["bucket_name"]
        sdk(minio_server).put_object(name, "a.txt", io.BytesIO(b"hello"), 5)
        http = urllib3.PoolManager()
        object_url = f"http://{minio_server.endpoint}/{name}/a.txt"
        assert http.request("GET", object_url).status == 403
        assert http.request("GET", f"http://{minio_server.endpoint}/{name}/").status == 403
        assert http.request("PUT", f"{object_url}.new", body=b"x").status == 403
        # The same request succeeds once anonymous download is declared, so the 403 is real.
        download = {**props, "access": "download"}
        provider.update(name, props, download)
        assert (provider.read(name, download).outs or {})["access"] == "download"
        assert http.request("GET", object_url).data == b"hello"
        assert http.request("GET", f"http://{minio_server.endpoint}/{name}/").status == 403
        provider.update(name, download, props)
        assert http.request("GET", object_url).status == 403
