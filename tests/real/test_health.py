"""The backend's /health, API and CORS, served by uvicorn, with real Postgres, Redis and MinIO.

Each dependency is stopped for real to see the backend name it; no dependency is simulated.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from minio import Minio

from tests.realservers.backend import APP_DIR, BackendProcess, run_alembic, start_backend
from tests.realservers.minio import MinioServer, start_minio
from tests.realservers.postgres import PostgresServer, start_pgvector_postgres
from tests.realservers.redis import RedisServer, start_redis

pytestmark = pytest.mark.real

ALLOWED_ORIGIN = "http://localhost:3000"
OTHER_ALLOWED_ORIGIN = "https://app.example.test"
DISALLOWED_ORIGIN = "https://evil.example.test"
ASSETS_BUCKET = "dev-appstack-assets"


@dataclass
class Stack:
    """The backend and its three real dependencies."""

    postgres: PostgresServer
    redis: RedisServer
    minio: MinioServer
    backend: BackendProcess
    env: dict[str, str]

    def get(self, path: str, origin: str | None = None) -> httpx.Response:
        headers = {"Origin": origin} if origin else {}
        return httpx.get(f"{self.backend.url}{path}", headers=headers, timeout=15)

    def secrets(self) -> list[str]:
        return [
            self.postgres.password,
            self.redis.password,
            self.minio.access_key,
            self.minio.secret_key,
        ]

    def stop(self) -> None:
        for server in (self.backend, self.minio, self.redis, self.postgres):
            server.stop()


def start_stack(tmp: Path) -> Stack:
    started: list[Callable[[], None]] = []
    try:
        postgres = start_pgvector_postgres(tmp / "pg")
        started.append(postgres.stop)
        redis_server = start_redis(tmp / "redis")
        started.append(redis_server.stop)
        minio = start_minio(tmp / "minio")
        started.append(minio.stop)
        Minio(
            minio.endpoint, access_key=minio.access_key, secret_key=minio.secret_key, secure=False
        ).make_bucket(ASSETS_BUCKET)
        migrated = run_alembic(postgres.sqlalchemy_url, "upgrade", "head")
        assert migrated.returncode == 0, migrated.stderr
        env = {
            "DATABASE_URL": postgres.sqlalchemy_url,
            "REDIS_URL": redis_server.url,
            "S3_ENDPOINT": minio.endpoint,
            "S3_ACCESS_KEY": minio.access_key,
            "S3_SECRET_KEY": minio.secret_key,
            "S3_SECURE": "false",
            "S3_BUCKET_ASSETS": ASSETS_BUCKET,
            "S3_BUCKET_TEMP": "dev-appstack-temp",
            "S3_BUCKET_BACKUPS": "dev-appstack-backups",
            "CORS_ORIGINS": f"{ALLOWED_ORIGIN}, {OTHER_ALLOWED_ORIGIN}",
        }
        backend = start_backend(env, tmp)
    except BaseException:
        for stop in reversed(started):
            stop()
        raise
    return Stack(postgres, redis_server, minio, backend, env)


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack for the tests that leave every server running."""
    stack = start_stack(tmp_path_factory.mktemp("stack"))
    yield stack
    stack.stop()


@pytest.fixture
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of the test's own, for tests that stop or break a dependency."""
    stack = start_stack(tmp_path_factory.mktemp("own-stack"))
    yield stack
    stack.stop()


def assert_no_secrets(stack: Stack, text: str) -> None:
    for secret in stack.secrets():
        assert secret not in text


def test_health_is_200_when_all_dependencies_answer(shared_stack: Stack) -> None:
    response = shared_stack.get("/health", origin=ALLOWED_ORIGIN)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ok",
        "failing": [],
        "checks": {"database": "ok", "redis": "ok", "object_store": "ok"},
    }
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


@pytest.mark.parametrize("dependency", ["database", "redis", "object_store"])
def test_health_is_503_naming_the_dependency_that_is_down(
    own_stack: Stack, dependency: str
) -> None:
    stop: dict[str, Callable[[], None]] = {
        "database": own_stack.postgres.stop,
        "redis": own_stack.redis.stop,
        "object_store": own_stack.minio.stop,
    }
    assert own_stack.get("/health").status_code == 200

    stop[dependency]()
    response = own_stack.get("/health", origin=OTHER_ALLOWED_ORIGIN)

    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == [dependency]
    assert body["checks"][dependency] != "ok"
    assert response.headers["access-control-allow-origin"] == OTHER_ALLOWED_ORIGIN
    assert_no_secrets(own_stack, response.text)


def test_health_is_503_when_the_assets_bucket_is_missing(own_stack: Stack) -> None:
    client = Minio(
        own_stack.minio.endpoint,
        access_key=own_stack.minio.access_key,
        secret_key=own_stack.minio.secret_key,
        secure=False,
    )
    client.remove_bucket(ASSETS_BUCKET)

    response = own_stack.get("/health")

    assert response.status_code == 503
    assert response.json()["failing"] == ["object_store"]
    assert f"bucket {ASSETS_BUCKET} does not exist" in response.json()["checks"]["object_store"]


def test_container_healthcheck_command_follows_health(own_stack: Stack) -> None:
    """The image's HEALTHCHECK (`python -m appstack_backend.healthcheck`) exits 0 only on 200."""

    def healthcheck() -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "HOST": "0.0.0.0",
            "PORT": str(own_stack.backend.port),
            "PYTHONPATH": str(APP_DIR),
        }
        return subprocess.run(
            [sys.executable, "-m", "appstack_backend.healthcheck"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert healthcheck().returncode == 0
    own_stack.redis.stop()
    failed = healthcheck()
    assert failed.returncode == 1
    assert "503" in failed.stderr


def test_cors_header_on_404_for_allowed_origins_only(shared_stack: Stack) -> None:
    missing = f"/api/meetings/{uuid.uuid4()}"

    allowed = shared_stack.get(missing, origin=ALLOWED_ORIGIN)
    disallowed = shared_stack.get(missing, origin=DISALLOWED_ORIGIN)

    assert allowed.status_code == 404
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert disallowed.status_code == 404
    assert "access-control-allow-origin" not in disallowed.headers


def test_cors_preflight_for_allowed_origin(shared_stack: Stack) -> None:
    response = httpx.options(
        f"{shared_stack.backend.url}/api/meetings",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


def test_cors_header_on_500_without_leaking_internals(own_stack: Stack) -> None:
    """The original incident: `relation "meetings" does not exist` must be a clean 500 + CORS."""
    with own_stack.postgres.connect() as conn:
        conn.execute("DROP TABLE meeting_transcripts, meetings")

    allowed = own_stack.get("/api/meetings", origin=ALLOWED_ORIGIN)
    disallowed = own_stack.get("/api/meetings", origin=DISALLOWED_ORIGIN)

    assert allowed.status_code == 500
    assert allowed.json() == {"detail": "internal server error"}
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert disallowed.status_code == 500
    assert "access-control-allow-origin" not in disallowed.headers
    assert 'relation "meetings" does not exist' in own_stack.backend.log()


def test_api_meetings_reads_the_database(shared_stack: Stack) -> None:
    with shared_stack.postgres.connect() as conn:
        row = conn.execute(
            "INSERT INTO meetings (title) VALUES ('Weekly sync') RETURNING id"
        ).fetchone()
    assert row is not None
    meeting_id = str(row[0])

    listing = shared_stack.get("/api/meetings")
    single = shared_stack.get(f"/api/meetings/{meeting_id}")

    assert listing.status_code == 200
    assert meeting_id in [item["id"] for item in listing.json()["items"]]
    assert single.status_code == 200
    assert single.json()["title"] == "Weekly sync"
    assert single.json()["status"] == "scheduled"


def test_schema_revision_reports_alembic_head(shared_stack: Stack) -> None:
    response = shared_stack.get("/api/schema-revision")

    assert response.status_code == 200
    assert response.json() == {"revision": "0001"}
