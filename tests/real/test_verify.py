"""`delivery.verify` against a real platform on loopback: pgvector PostgreSQL, Redis, MinIO with the
dev stack's buckets made by the Bucket provider, and the backend app migrated with alembic.

One platform is shared by the module; each failure case breaks one thing for real (drops the
extension, rewrites alembic_version, stops Redis, deletes a bucket or its lifecycle, opens a
bucket to anonymous reads) and restores it afterwards, so every test starts from a passing stack.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest
from minio import Minio
from minio.versioningconfig import SUSPENDED, VersioningConfig

from appstack.bucket import BucketProvider, download_policy, normalize_inputs
from appstack.migrate import parse_revision
from appstack.object_store import lifecycle_rules
from appstack.settings import Settings, parse_settings
from delivery.verify import CheckResult, main, verify_stack
from tests.realservers.backend import BackendProcess, run_alembic, start_backend
from tests.realservers.minio import MinioServer, start_minio
from tests.realservers.postgres import PostgresServer
from tests.realservers.redis import RedisServer, start_redis
from tests.stacks import stack_config

pytestmark = pytest.mark.real

ENVIRONMENT = "dev"
FOREIGN_ORIGIN = "https://not-configured.example.test"


@dataclass
class LivePlatform:
    """The real servers of one environment and the outputs a deployed stack would export."""

    settings: Settings
    postgres: PostgresServer
    redis: RedisServer
    minio: MinioServer
    backend: BackendProcess
    revision: str
    bucket_props: dict[str, dict[str, Any]]

    def outputs(self) -> dict[str, Any]:
        """The stack outputs, shaped as `pulumi stack output --json --show-secrets` prints them."""
        pg, settings = self.postgres, self.settings
        with pg.connect() as conn:
            row = conn.execute(
                "SELECT current_setting('server_version'),"
                " (SELECT extversion FROM pg_extension WHERE extname = 'vector')"
            ).fetchone()
        assert row is not None
        server_version, pgvector = row
        backend_ref = "dev-appstack-backend:local"
        return {
            "environment": ENVIRONMENT,
            "database": {
                "host": pg.host,
                "port": pg.port,
                "name": pg.database,
                "user": pg.user,
                "dsn": pg.dsn,
                "pgvectorVersion": pgvector,
                "serverVersion": server_version,
                "image": settings.database.image,
            },
            "cache": {
                "host": self.redis.host,
                "port": self.redis.port,
                "url": self.redis.url,
                "image": settings.cache.image,
            },
            "objectStore": {
                "endpoint": self.minio.endpoint,
                "accessKey": self.minio.access_key,
                "secretKey": self.minio.secret_key,
                "buckets": {
                    role: props["bucket_name"] for role, props in self.bucket_props.items()
                },
                "bucketConfig": {
                    role: {
                        "name": props["bucket_name"],
                        "versioning": props["versioning"],
                        "lifecycleRules": props["lifecycle_rules"],
                    }
                    for role, props in self.bucket_props.items()
                },
                "image": settings.object_store.image,
            },
            "backend": {
                "url": self.backend.url,
                "image": backend_ref,
                "imageId": "sha256:" + "0" * 64,
                "healthPath": settings.backend.health_path,
            },
            "migration": {"revision": self.revision},
            "corsOrigins": list(settings.backend.cors_origins),
            "images": {
                "database": settings.database.image,
                "cache": settings.cache.image,
                "objectStore": settings.object_store.image,
                "backend": backend_ref,
            },
        }

    def secrets(self) -> list[str]:
        return [
            self.postgres.password,
            self.postgres.dsn,
            self.redis.password,
            self.redis.url,
            self.minio.access_key,
            self.minio.secret_key,
        ]

    def s3(self) -> Minio:
        return Minio(
            self.minio.endpoint,
            access_key=self.minio.access_key,
            secret_key=self.minio.secret_key,
            secure=False,
        )


def bucket_props(settings: Settings, minio: MinioServer) -> dict[str, dict[str, Any]]:
    """Each declared bucket's inputs, built as appstack.object_store.ObjectStore builds them."""
    return {
        bucket.role: normalize_inputs(
            {
                "bucket_name": settings.bucket_name(bucket.role),
                "endpoint": minio.endpoint,
                "access_key": minio.access_key,
                "secret_key": minio.secret_key,
                "versioning": bucket.versioning,
                "lifecycle_rules": [asdict(rule) for rule in lifecycle_rules(bucket)],
                "tags": {"environment": settings.environment, "role": bucket.role},
                "access": "private",
                "force_destroy": True,
                "role": bucket.role,
            }
        )
        for bucket in settings.object_store.buckets
    }


@pytest.fixture(scope="module")
def platform(
    pgvector_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LivePlatform]:
    """The dev stack's platform, live on loopback, migrated, with its buckets and backend."""
    settings = parse_settings(ENVIRONMENT, stack_config(ENVIRONMENT))
    tmp = tmp_path_factory.mktemp("verify")
    database = f"verify_{secrets.token_hex(4)}"
    with pgvector_server.connect() as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    postgres = dataclasses.replace(pgvector_server, database=database, _scratch_dir=None)
    stops: list[Callable[[], None]] = []
    try:
        redis_server = start_redis(tmp / "redis")
        stops.append(redis_server.stop)
        minio = start_minio(tmp / "minio")
        stops.append(minio.stop)
        props = bucket_props(settings, minio)
        provider = BucketProvider()
        for bucket in props.values():
            checked = provider.check({}, bucket)
            assert not checked.failures, checked.failures
            provider.create(checked.inputs)
        migrated = run_alembic(postgres.sqlalchemy_url, "upgrade", "head")
        assert migrated.returncode == 0, migrated.stderr
        current = run_alembic(postgres.sqlalchemy_url, "current")
        revision = parse_revision(current.stdout)
        assert revision, current.stdout + current.stderr
        backend = start_backend(
            {
                "DATABASE_URL": postgres.sqlalchemy_url,
                "REDIS_URL": redis_server.url,
                "S3_ENDPOINT": minio.endpoint,
                "S3_ACCESS_KEY": minio.access_key,
                "S3_SECRET_KEY": minio.secret_key,
                "S3_SECURE": "false",
                **{f"S3_BUCKET_{role.upper()}": p["bucket_name"] for role, p in props.items()},
                "CORS_ORIGINS": ",".join(settings.backend.cors_origins),
            },
            tmp,
        )
        stops.append(backend.stop)
        yield LivePlatform(settings, postgres, redis_server, minio, backend, revision, props)
    finally:
        for stop in reversed(stops):
            stop()


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {result.name: result for result in results}


def failed(results: list[CheckResult]) -> dict[str, str]:
    return {result.name: result.detail for result in results if not result.ok}


def assert_no_secret(platform: LivePlatform, text: str, *extra: str) -> None:
    for secret in (*platform.secrets(), *extra):
        assert secret not in text


def restart_redis(server: RedisServer) -> None:
    """Start the stopped Redis again from its own config: same port, same password."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: run `apt-get install -y redis-server`"
    config = server.log_path.parent / "redis.conf"
    with server.log_path.open("ab") as log:
        server.process = subprocess.Popen(
            [binary, str(config)], stdout=log, stderr=subprocess.STDOUT, cwd=config.parent
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if server.client().ping():
                return
        except Exception:
            time.sleep(0.1)
    raise AssertionError("Redis did not come back")


@pytest.fixture
def healthy(platform: LivePlatform) -> Iterator[LivePlatform]:
    """The shared platform, checked to pass before the test and restored after it."""
    assert failed(verify_stack(platform.outputs())) == {}
    yield platform
    if not platform.redis.is_running():
        restart_redis(platform.redis)
    assert failed(verify_stack(platform.outputs())) == {}, "a test left the platform broken"


# --------------------------------------------------------------------------------------------
# Everything passes


def test_every_check_passes_on_the_deployed_platform(healthy: LivePlatform) -> None:
    results = verify_stack(healthy.outputs())

    assert [r.name for r in results] == [
        "database",
        "schema",
        "redis",
        "bucket assets",
        "bucket temp",
        "bucket backups",
        "health",
        *(f"cors {origin}" for origin in healthy.settings.backend.cors_origins),
    ]
    assert all(r.ok for r in results), failed(results)
    checks = by_name(results)
    assert checks["database"].detail.startswith("PostgreSQL 18.")
    assert ", pgvector 0." in checks["database"].detail
    assert healthy.revision in checks["schema"].detail
    assert "the backend reports the same" in checks["schema"].detail
    assert "expire-objects (expiration 7d)" in checks["bucket temp"].detail
    assert "expire-old-versions" in checks["bucket backups"].detail
    assert "versioning on" in checks["bucket backups"].detail
    assert "answered 200" in checks["health"].detail


def test_main_prints_one_line_per_check_and_no_secret(
    healthy: LivePlatform, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(healthy.outputs()))

    assert main(["--outputs-file", str(outputs_file)]) == 0

    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("PASS database: PostgreSQL ")
    assert all(line.startswith("PASS ") for line in lines[:-1])
    assert lines[-1] == f"verify dev: all {len(lines) - 1} checks passed"
    assert_no_secret(healthy, out + err)


# --------------------------------------------------------------------------------------------
# Each failure, caused for real


def test_a_dropped_pgvector_extension_fails_the_database_check(
    healthy: LivePlatform, pgvector_server: PostgresServer
) -> None:
    scratch = f"verify_nopgv_{secrets.token_hex(4)}"
    with pgvector_server.connect() as conn:
        conn.execute(f'CREATE DATABASE "{scratch}"')
    database = dataclasses.replace(pgvector_server, database=scratch, _scratch_dir=None)
    outputs = healthy.outputs()
    outputs["database"]["dsn"] = database.dsn
    with database.connect() as conn:
        conn.execute("CREATE EXTENSION vector")
    assert by_name(verify_stack(outputs))["database"].ok

    with database.connect() as conn:
        conn.execute("DROP EXTENSION vector")
    results = verify_stack(outputs)

    detail = failed(results)["database"]
    assert f"pgvector is not installed in database '{scratch}'" in detail
    assert "the server offers pgvector" in detail
    assert_no_secret(healthy, repr(results), database.dsn)


def test_a_changed_alembic_version_fails_the_schema_check(healthy: LivePlatform) -> None:
    with healthy.postgres.connect() as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'ffff0000'")
    try:
        results = verify_stack(healthy.outputs())
    finally:
        with healthy.postgres.connect() as conn:
            conn.execute("UPDATE alembic_version SET version_num = %s", (healthy.revision,))

    assert set(failed(results)) == {"schema"}
    detail = failed(results)["schema"]
    assert "database is at revision 'ffff0000'" in detail
    assert f"migrated to head '{healthy.revision}'" in detail


def test_a_deployment_that_reports_another_head_fails_the_schema_check(
    healthy: LivePlatform,
) -> None:
    outputs = healthy.outputs()
    outputs["migration"]["revision"] = "0002"

    detail = failed(verify_stack(outputs))["schema"]

    assert f"is at revision '{healthy.revision}', but the deployment migrated to head '0002'" in (
        detail
    )


def test_a_wrong_redis_password_fails_the_redis_check(healthy: LivePlatform) -> None:
    wrong = secrets.token_urlsafe(12)
    outputs = healthy.outputs()
    outputs["cache"]["url"] = healthy.redis.url.replace(healthy.redis.password, wrong)

    results = verify_stack(outputs)

    assert set(failed(results)) == {"redis"}
    assert "the password of the cache URL is refused" in failed(results)["redis"]
    assert_no_secret(healthy, repr(results), wrong)


def test_a_redis_that_answers_without_a_password_fails_the_redis_check(
    healthy: LivePlatform,
) -> None:
    client = healthy.redis.client()
    client.config_set("requirepass", "")
    try:
        results = verify_stack(healthy.outputs())
    finally:
        healthy.redis.client().config_set("requirepass", healthy.redis.password)

    detail = failed(results)["redis"]
    assert re.fullmatch(
        r"Redis [\d.]+ answers PING from a client without credentials \(configure requirepass\)",
        detail,
    )
    assert_no_secret(healthy, repr(results))


def test_a_stopped_redis_fails_the_redis_check(healthy: LivePlatform) -> None:
    healthy.redis.stop()

    results = verify_stack(healthy.outputs())

    detail = failed(results)["redis"]
    assert "no answer to PING" in detail
    assert "Connection refused" in detail
    assert_no_secret(healthy, repr(results))


def test_backend_health_503_when_a_dependency_is_down_fails_the_health_check(
    healthy: LivePlatform,
) -> None:
    healthy.redis.stop()

    results = verify_stack(healthy.outputs())

    detail = failed(results)["health"]
    assert "/health answered 503: failing redis" in detail
    assert "(" not in detail.split("failing redis", 1)[1], "no part of the body is printed"
    # The database side is untouched: those checks still pass.
    assert by_name(results)["database"].ok and by_name(results)["schema"].ok
    assert_no_secret(healthy, repr(results))


def test_a_missing_bucket_fails_its_check(healthy: LivePlatform) -> None:
    props = healthy.bucket_props["temp"]
    healthy.s3().remove_bucket(props["bucket_name"])
    try:
        results = verify_stack(healthy.outputs())
    finally:
        BucketProvider().create(props)

    assert failed(results)["bucket temp"] == f"'{props['bucket_name']}' does not exist at " + (
        healthy.minio.endpoint
    )
    assert by_name(results)["bucket assets"].ok


@pytest.mark.parametrize(
    ("role", "drift", "expected"),
    [
        (
            "temp",
            lambda s3, name: s3.delete_bucket_lifecycle(name),
            "rule expire-objects (expiration 7d) is missing",
        ),
        (
            "backups",
            lambda s3, name: s3.set_bucket_versioning(name, VersioningConfig(SUSPENDED)),
            "versioning is off, declared on",
        ),
    ],
    ids=["lifecycle-rule-removed", "versioning-suspended"],
)
def test_configuration_changed_by_hand_fails_its_bucket_check(
    healthy: LivePlatform, role: str, drift: Callable[[Minio, str], None], expected: str
) -> None:
    props = healthy.bucket_props[role]
    drift(healthy.s3(), props["bucket_name"])
    try:
        results = verify_stack(healthy.outputs())
    finally:
        BucketProvider().update(props["bucket_name"], props, props)  # what `pulumi up` does

    assert set(failed(results)) == {f"bucket {role}"}
    assert expected in failed(results)[f"bucket {role}"]


def test_the_declared_rules_are_read_from_the_stack_outputs(healthy: LivePlatform) -> None:
    """The live bucket is judged against what the deployed stack declares, not this checkout."""
    outputs = healthy.outputs()
    temp = outputs["objectStore"]["bucketConfig"]["temp"]
    rules = [dict(rule) for rule in temp["lifecycleRules"]]
    next(rule for rule in rules if rule["id"] == "expire-objects")["expiration_days"] = 8.0
    temp["lifecycleRules"] = rules

    results = verify_stack(outputs)

    assert set(failed(results)) == {"bucket temp"}
    assert (
        "rule 'expire-objects' has expiration_days 7, declared 8" in failed(results)["bucket temp"]
    )


PUBLIC_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": ["*"]},
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::{bucket}", "arn:aws:s3:::{bucket}/*"],
        }
    ],
}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (
            lambda bucket: json.loads(json.dumps(PUBLIC_POLICY).replace("{bucket}", bucket)),
            [
                "its bucket policy makes it custom, declared private",
                "anonymous listing not refused (HTTP 200, expected 403)",
                "anonymous object reads not refused (HTTP 404, expected 403)",
            ],
        ),
        (
            download_policy,
            [
                "its bucket policy makes it download, declared private",
                "anonymous object reads not refused (HTTP 404, expected 403)",
            ],
        ),
    ],
    ids=["public-list-and-read", "public-read"],
)
def test_a_bucket_made_public_fails_its_check(
    healthy: LivePlatform, policy: Callable[[str], dict[str, Any]], expected: list[str]
) -> None:
    name = healthy.bucket_props["assets"]["bucket_name"]
    healthy.s3().set_bucket_policy(name, json.dumps(policy(name)))
    try:
        results = verify_stack(healthy.outputs())
    finally:
        healthy.s3().delete_bucket_policy(name)

    assert set(failed(results)) == {"bucket assets"}
    detail = failed(results)["bucket assets"]
    for problem in expected:
        assert problem in detail
    assert ("anonymous listing" in detail) == ("anonymous listing" in " ".join(expected))


def test_an_origin_the_app_does_not_allow_fails_its_cors_check(healthy: LivePlatform) -> None:
    outputs = healthy.outputs()
    outputs["corsOrigins"].append(FOREIGN_ORIGIN)

    results = verify_stack(outputs)

    assert set(failed(results)) == {f"cors {FOREIGN_ORIGIN}"}
    detail = failed(results)[f"cors {FOREIGN_ORIGIN}"]
    assert "GET answered 200 with no access-control-allow-origin" in detail
    assert "preflight OPTIONS answered 400 with no access-control-allow-origin" in detail
    assert "Disallowed CORS origin" not in detail, "the response body is never printed"


def test_main_exits_1_and_prints_no_secret_when_everything_is_broken(
    healthy: LivePlatform, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Wrong credentials everywhere: every error path runs, and none may echo a secret."""
    wrong_db, wrong_redis = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    wrong_key = "verify" + secrets.token_hex(8)
    outputs = healthy.outputs()
    outputs["database"]["dsn"] = healthy.postgres.dsn.replace(healthy.postgres.password, wrong_db)
    outputs["cache"]["url"] = healthy.redis.url.replace(healthy.redis.password, wrong_redis)
    outputs["objectStore"]["accessKey"] = wrong_key
    outputs["corsOrigins"].append(FOREIGN_ORIGIN)
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(outputs))

    assert main(["--outputs-file", str(outputs_file)]) == 1

    out, err = capsys.readouterr()
    assert "FAIL database: cannot connect: OperationalError:" in out
    assert "password authentication failed" in out
    assert "FAIL redis: the password of the cache URL is refused" in out
    assert "FAIL bucket assets: 'dev-appstack-assets': cannot read its configuration" in out
    assert out.splitlines()[-1].startswith("verify dev: ")
    assert "checks failed (database, schema, redis, bucket assets" in out.splitlines()[-1]
    assert_no_secret(
        healthy, out + err, wrong_db, wrong_redis, wrong_key, outputs["database"]["dsn"]
    )


# --------------------------------------------------------------------------------------------
# Reading the outputs: --stack through the pulumi CLI, and bad input


def fake_pulumi(bin_dir: Path, stack: str, outputs: dict[str, Any], log: Path) -> None:
    """A `pulumi` on PATH that knows one stack: prints its outputs, refuses any other name."""
    bin_dir.mkdir()
    (bin_dir / "outputs.json").write_text(json.dumps(outputs))
    script = bin_dir / "pulumi"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> "{log}"\n'
        f'if [ "$4" = "{stack}" ]; then cat "{bin_dir}/outputs.json"; exit 0; fi\n'
        "echo \"error: no stack named '$4' found\" >&2\n"
        "exit 255\n"
    )
    script.chmod(0o755)


def test_stack_reads_the_outputs_with_secrets_through_the_pulumi_cli(
    healthy: LivePlatform,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = tmp_path / "pulumi-calls.log"
    fake_pulumi(tmp_path / "bin", "dev", healthy.outputs(), log)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")

    assert main(["--stack", "dev", "--cwd", str(tmp_path)]) == 0
    assert log.read_text().split() == [
        "stack",
        "output",
        "--stack",
        "dev",
        "--json",
        "--show-secrets",
    ]
    assert main(["--stack", "nosuch", "--cwd", str(tmp_path)]) == 2
    assert main(["--stack", "stage", "--cwd", str(tmp_path)]) == 2

    out, err = capsys.readouterr()
    assert out.splitlines()[-1].startswith("verify dev: all ")
    assert "`pulumi stack output --stack nosuch` failed: error: no stack named 'nosuch'" in err
    assert "no stack named 'stage'" in err
    assert_no_secret(healthy, out + err)


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_json = tmp_path / "broken.json"
    not_json.write_text("{not json")
    undeployed = tmp_path / "empty.json"
    undeployed.write_text("{}")

    assert main(["--outputs-file", str(tmp_path / "missing.json")]) == 2
    assert main(["--outputs-file", str(not_json)]) == 2
    assert main(["--outputs-file", str(undeployed)]) == 2
    assert main([]) == 2

    err = capsys.readouterr().err
    assert "cannot read" in err and "are not JSON" in err and "is the stack deployed?" in err
    assert "one of the arguments --stack --outputs-file is required" in err


def test_outputs_are_not_modified(healthy: LivePlatform) -> None:
    outputs = healthy.outputs()
    before = copy.deepcopy(outputs)
    verify_stack(outputs)
    assert outputs == before
