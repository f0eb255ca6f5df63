"""PgvectorExtension and Bucket under the real Pulumi engine, against real servers.

The Pulumi CLI and Python language host that `bash toolchain/build.sh engine` built run a
temporary project (tests/engine/project/__main__.py) on a local file backend with a passphrase
secrets provider. The dynamic providers run in the engine's own provider plugin process, so this
proves what the provider-level tests in tests/real cannot: the providers pickle and unpickle
through the engine, secrets stay encrypted in the state and out of the CLI output, drift made by
hand shows in `preview` and is repaired by `up`, a new MinIO endpoint updates the bucket in place,
a database without pgvector stops `up` with a clear message, and `destroy` never drops the
extension.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from minio import Minio

from tests.engine.harness import PulumiProject, new_project
from tests.realservers.minio import MinioServer
from tests.realservers.postgres import PostgresServer

pytestmark = pytest.mark.real

PROGRAM = Path(__file__).resolve().parent / "project" / "__main__.py"
PROJECT_NAME = "appstack-engine-test"
STACK = "ci"
PLAIN_STACK = "ci-plain"
PGVECTOR_IMAGE = "pgvector/pgvector:pg17"
PLAIN_IMAGE = "postgres:15-alpine"
EXPIRE_RULE = "expire-objects"
ABORT_RULE = "abort-incomplete-uploads"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""The key Pulumi's state uses to mark a secret value (`{sig: ..., ciphertext: ...}`)."""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulumiProject]:
    """A project running tests/engine/project/__main__.py on a tmp backend."""
    project = new_project(tmp_path_factory.mktemp("engine"), PROJECT_NAME, PROGRAM.read_text())
    yield project
    print(f"pulumi command timings: {project.timings()}")


def _minio(server: MinioServer) -> Minio:
    return Minio(server.endpoint, server.access_key, server.secret_key, secure=False)


def _extension_version(db: PostgresServer) -> str | None:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
    return str(row[0]) if row else None


def _server_rules(client: Minio, bucket: str) -> dict[str, int | None]:
    """Rule id -> expiration days of the bucket's live lifecycle ({} when it has none)."""
    config = client.get_bucket_lifecycle(bucket)
    if config is None:
        return {}
    return {
        str(rule.rule_id): rule.expiration.days if rule.expiration else None
        for rule in config.rules
    }


def _resource(state: dict[str, Any], type_name: str) -> dict[str, Any]:
    resources = state["checkpoint"]["latest"]["resources"]
    matches = [r for r in resources if r["type"] == f"pulumi-python:dynamic/appstack:{type_name}"]
    assert len(matches) == 1, f"expected one {type_name} in the state: {matches}"
    return dict(matches[0])


def _assert_no_plaintext(where: str, text: str, values: dict[str, str]) -> None:
    for name, value in values.items():
        assert value not in text, f"the {name} appears in plain text in {where}"


def test_up_preview_drift_destroy_under_the_real_engine(
    project: PulumiProject, pgvector_database: PostgresServer, minio_server: MinioServer
) -> None:
    project.require_engine()
    bucket = f"ci-engine-{secrets.token_hex(4)}-temp"
    secret_values = {
        "database password": pgvector_database.password,
        "MinIO secret key": minio_server.secret_key,
        "MinIO access key": minio_server.access_key,
    }
    project.configure(
        STACK,
        plain={
            "pg_host": pgvector_database.host,
            "pg_port": str(pgvector_database.port),
            "pg_database": pgvector_database.database,
            "pg_user": pgvector_database.user,
            "pg_image": PGVECTOR_IMAGE,
            "minio_endpoint": minio_server.endpoint,
            "bucket_name": bucket,
        },
        secret={
            "pg_password": pgvector_database.password,
            "minio_access_key": minio_server.access_key,
            "minio_secret_key": minio_server.secret_key,
        },
    )
    client = _minio(minio_server)
    assert _extension_version(pgvector_database) is None

    # up: the extension is created, the bucket made with its server-side rule.
    project.run("up", "--yes", "--stack", STACK)
    live_version = _extension_version(pgvector_database)
    assert live_version, "pulumi up did not create the vector extension"
    outputs = project.outputs(STACK)
    assert outputs == {"pgvector_version": live_version, "bucket_name": bucket}
    assert client.bucket_exists(bucket)
    assert _server_rules(client, bucket) == {EXPIRE_RULE: 7}

    # The state keeps both rules (the abort-only one lives in state only on MinIO) and holds
    # every secret as ciphertext.
    state = project.state(STACK)
    bucket_outputs = _resource(state, "Bucket")["outputs"]
    rules = {rule["id"]: rule for rule in bucket_outputs["lifecycle_rules"]}
    assert rules[EXPIRE_RULE]["expiration_days"] == 7
    assert rules[ABORT_RULE]["abort_incomplete_multipart_days"] == 1
    for key in ("access_key", "secret_key"):
        assert SECRET_SIG in bucket_outputs[key] and "ciphertext" in bucket_outputs[key], key
    pg_outputs = _resource(state, "PgvectorExtension")["outputs"]
    assert pg_outputs["extension_version"] == live_version
    assert SECRET_SIG in pg_outputs["password"] and "ciphertext" in pg_outputs["password"]

    # Nothing changed since: the live diffs of both providers agree with the state.
    project.run("preview", "--expect-no-changes", "--stack", STACK)

    # Drift by hand: the extension dropped, the bucket's lifecycle removed.
    with pgvector_database.connect() as conn:
        conn.execute("DROP EXTENSION vector")
    client.delete_bucket_lifecycle(bucket)
    assert _extension_version(pgvector_database) is None
    assert _server_rules(client, bucket) == {}
    drift = project.run("preview", "--expect-no-changes", "--stack", STACK, ok=False)
    assert "no changes were expected for preview but changes were proposed" in drift.output, (
        drift.output
    )
    lines = drift.output.splitlines()
    for resource in ("appstack:PgvectorExtension pgvector", "appstack:Bucket temp"):
        assert any(resource in line and "update" in line for line in lines), (
            f"{resource} is not shown as an update:\n{drift.output}"
        )
    assert "2 to update" in drift.output, drift.output

    # A refresh preview reads both resources back (provider `read`) and reports the same drift.
    refresh = project.run("refresh", "--preview-only", "--stack", STACK)
    assert "2 to update" in refresh.output, refresh.output

    # The next up restores both, and is then clean again.
    project.run("up", "--yes", "--stack", STACK)
    assert _extension_version(pgvector_database) == live_version
    assert _server_rules(client, bucket) == {EXPIRE_RULE: 7}
    project.run("preview", "--expect-no-changes", "--stack", STACK)

    # No secret in plain text in any backend file (state, backups, history), the stack's config
    # file, or anything the CLI printed.
    for path in [*project.backend.rglob("*"), project.directory / f"Pulumi.{STACK}.yaml"]:
        if path.is_file():
            _assert_no_plaintext(str(path), path.read_text(errors="replace"), secret_values)
    _assert_no_plaintext("the CLI output", project.transcript(), secret_values)

    # The MinIO endpoint changes (as a new port or bind address would make it): the same bucket
    # is updated in place through the new endpoint, its objects kept. As a replacement, `up`
    # created the bucket again before deleting the old one and failed with "already exists".
    client.put_object(bucket, "keep.txt", io.BytesIO(b"kept"), 4)
    host, _, port = minio_server.endpoint.rpartition(":")
    assert host == "127.0.0.1", minio_server.endpoint
    moved = f"localhost:{port}"
    project.run("config", "set", "--stack", STACK, "minio_endpoint", moved)
    planned = project.run("preview", "--diff", "--stack", STACK)
    assert "1 to update" in planned.output and "replace" not in planned.output, planned.output
    project.run("up", "--yes", "--stack", STACK)
    assert client.get_object(bucket, "keep.txt").read() == b"kept"
    assert _resource(project.state(STACK), "Bucket")["outputs"]["endpoint"] == moved
    project.run("preview", "--expect-no-changes", "--stack", STACK)
    client.remove_object(bucket, "keep.txt")

    # destroy removes the (empty) bucket but never drops the extension.
    project.run("destroy", "--yes", "--stack", STACK)
    assert _extension_version(pgvector_database) == live_version
    assert not client.bucket_exists(bucket)
    assert project.state(STACK)["checkpoint"]["latest"].get("resources") in (None, [])
    _assert_no_plaintext("the CLI output", project.transcript(), secret_values)


def test_up_fails_clearly_on_a_database_without_pgvector(
    project: PulumiProject, plain_postgres_server: PostgresServer
) -> None:
    project.require_engine()
    db = plain_postgres_server
    project.configure(
        PLAIN_STACK,
        plain={
            "pg_host": db.host,
            "pg_port": str(db.port),
            "pg_database": db.database,
            "pg_user": db.user,
            "pg_image": PLAIN_IMAGE,
        },
        secret={"pg_password": db.password},
    )
    failed = project.run("up", "--yes", "--stack", PLAIN_STACK, ok=False)
    assert f"The database image '{PLAIN_IMAGE}' does not provide the pgvector extension" in (
        failed.output
    ), failed.output
    assert PGVECTOR_IMAGE in failed.output, failed.output
    assert db.password not in failed.output, "the database password is in the error output"
    with db.connect() as conn:
        row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
    assert row is None
    # The failed create left nothing in the state but the stack itself.
    resources = project.state(PLAIN_STACK)["checkpoint"]["latest"].get("resources") or []
    assert not [r for r in resources if r["type"].endswith(":PgvectorExtension")]
