"""Engine-test program: a PgvectorExtension and (optionally) a temp-like Bucket, from config.

Copied into a temporary Pulumi project by tests/engine/test_dynamic_providers_engine.py; the venv
has `appstack` installed, so it imports here and in the dynamic-provider plugin process.
Secrets (database password, MinIO keys) come from stack config set with `--secret`.
"""

from __future__ import annotations

import pulumi

from appstack.bucket import Bucket, BucketArgs, LifecycleRule
from appstack.pgvector import PgvectorExtension, PgvectorExtensionArgs

config = pulumi.Config()

extension = PgvectorExtension(
    "pgvector",
    PgvectorExtensionArgs(
        host=config.require("pg_host"),
        port=config.require_int("pg_port"),
        database=config.require("pg_database"),
        user=config.require("pg_user"),
        password=config.require_secret("pg_password"),
        image=config.require("pg_image"),
        connect_timeout_seconds=10,
    ),
)
pulumi.export("pgvector_version", extension.extension_version)

minio_endpoint = config.get("minio_endpoint")
if minio_endpoint:
    # Like a `temp` bucket of the stacks: objects expire after 7 days, and a separate rule
    # aborts stale multipart uploads (MinIO keeps that one in state only, see appstack.bucket).
    bucket = Bucket(
        "temp",
        BucketArgs(
            bucket_name=config.require("bucket_name"),
            endpoint=minio_endpoint,
            access_key=config.require_secret("minio_access_key"),
            secret_key=config.require_secret("minio_secret_key"),
            lifecycle_rules=[
                LifecycleRule(id="expire-objects", expiration_days=7),
                LifecycleRule(id="abort-incomplete-uploads", abort_incomplete_multipart_days=1),
            ],
            tags={"env": "ci", "role": "temp"},
            role="temp",
        ),
    )
    pulumi.export("bucket_name", bucket.bucket_name)
