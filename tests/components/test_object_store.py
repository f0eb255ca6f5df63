"""ObjectStore alone, with only its Args: MinIO, its buckets and what verify reads of them."""

from __future__ import annotations

import pulumi
import pytest

from appstack.common import NetworkAttachment
from appstack.contract import BUCKET, CONTAINER, RANDOM_PASSWORD, REMOTE_IMAGE, VOLUME
from appstack.object_store import BucketSpec, ObjectStore, ObjectStoreArgs
from appstack.validation import ArgsError
from tests.components.helpers import build, children, envs

BRIDGE = NetworkAttachment.bridge("shared-net")
BUCKETS = (
    BucketSpec(role="uploads", expiration_days=2, abort_incomplete_multipart_days=3),
    BucketSpec(role="archive", versioning=True, noncurrent_version_expiration_days=9),
)


def store(args: ObjectStoreArgs) -> None:
    minio = ObjectStore("files", args)
    pulumi.export("buckets", minio.bucket_names)
    pulumi.export("bucketConfig", minio.bucket_config)
    pulumi.export("endpoint", minio.endpoint)


def test_alone_it_runs_minio_with_its_own_volume_and_credentials() -> None:
    run = build(lambda: store(ObjectStoreArgs(network=BRIDGE)))

    assert children(run, run.named("files")) == {
        "files-image": REMOTE_IMAGE,
        "files-data": VOLUME,
        "files-access-key": RANDOM_PASSWORD,
        "files-secret-key": RANDOM_PASSWORD,
        "files-container": CONTAINER,
    }
    container = run.named("files-container")
    assert container.inputs["name"] == "qa-files"
    assert run.named("files-data").inputs["name"] == "qa-files-data"
    assert container.inputs["command"] == [
        "server",
        "/data",
        "--address",
        ":9000",
        "--console-address",
        ":9001",
    ]
    assert container.inputs["healthcheck"]["tests"] == ["CMD-SHELL", "mc ready local"]


def test_buckets_are_named_after_the_instance_and_wait_for_the_server() -> None:
    run = build(lambda: store(ObjectStoreArgs(network=BRIDGE, buckets=BUCKETS)))

    parts = children(run, run.named("files"))
    assert parts["files-bucket-uploads"] == parts["files-bucket-archive"] == BUCKET
    container = run.named("files-container")
    uploads, archive = run.named("files-bucket-uploads"), run.named("files-bucket-archive")
    assert uploads.inputs["bucket_name"] == "qa-files-uploads"
    assert archive.inputs["bucket_name"] == "qa-files-archive"
    for bucket in (uploads, archive):
        assert container.urn in bucket.dependencies
        assert bucket.inputs["access"] == "private"
        assert bucket.inputs["endpoint"] == "127.0.0.1:9000"
        assert {"access_key", "secret_key"} <= bucket.secret_inputs
    rules = {rule["id"]: rule for rule in uploads.inputs["lifecycle_rules"]}
    assert rules["expire-objects"]["expiration_days"] == 2
    assert archive.inputs["versioning"] is True
    # MinIO aborts stale uploads server-wide: the strictest bucket's days.
    assert envs(container)["MINIO_API_STALE_UPLOADS_EXPIRY"] == "72h"


def test_the_bucket_config_output_is_each_bucket_as_deployed() -> None:
    args = ObjectStoreArgs(network=BRIDGE, buckets=BUCKETS, bucket_prefix="shop")
    run = build(lambda: store(args))

    assert run.outputs["buckets"] == {"uploads": "shop-uploads", "archive": "shop-archive"}
    config = run.outputs["bucketConfig"]
    assert config["archive"]["name"] == "shop-archive"
    assert config["archive"]["versioning"] is True
    assert [rule["id"] for rule in config["archive"]["lifecycleRules"]] == ["expire-old-versions"]
    assert [rule["id"] for rule in config["uploads"]["lifecycleRules"]] == [
        "expire-objects",
        "abort-incomplete-uploads",
    ]


def test_data_protection_covers_the_volume_and_the_buckets() -> None:
    args = ObjectStoreArgs(network=BRIDGE, buckets=BUCKETS, protect_data=True)
    run = build(lambda: store(args))

    assert run.named("files-data").protect
    assert all(bucket.protect for bucket in run.by_type(BUCKET))
    assert not run.named("files-container").protect


def test_host_networking_listens_on_the_bind_address_and_both_ports() -> None:
    args = ObjectStoreArgs(network=NetworkAttachment.host(), port=29000, console_port=29001)
    run = build(lambda: store(args))

    command = run.named("files-container").inputs["command"]
    assert command[2:] == ["--address", "127.0.0.1:29000", "--console-address", "127.0.0.1:29001"]
    assert run.outputs["endpoint"] == "127.0.0.1:29000"


def test_bad_buckets_are_reported_at_once() -> None:
    buckets = (
        BucketSpec(role="Uploads"),
        BucketSpec(role="logs", noncurrent_version_expiration_days=3),
        BucketSpec(role="logs", expiration_days=0),
        BucketSpec(role="media", expiration_days=5, prefix="p" * 1025),
    )
    with pytest.raises(ArgsError) as caught:
        build(lambda: store(ObjectStoreArgs(network=BRIDGE, buckets=buckets)))

    message = str(caught.value)
    assert "buckets[0]: expected a bucket name that may contain only lowercase letters" in message
    assert "buckets[1].noncurrent_version_expiration_days: expected versioning=True" in message
    assert "buckets[2].role: expected a role used by no other bucket" in message
    assert "buckets[2].expiration_days: expected an integer from 1 to 36500, got 0" in message
    assert "buckets[3].prefix: expected a string of at most 1024 bytes" in message
