"""Real checks of the backend's three dependencies, each bounded by a short timeout.

Each check opens its own short-lived connection so it reports the dependency's state now, not a
pooled connection's memory of it. Failures are reduced to the exception type and a message with
every known secret removed, so the health response can be shown to anyone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import redis
import urllib3
from minio import Minio

from appstack_backend.settings import Settings

CHECK_TIMEOUT_SECONDS = 3.0
"""Upper bound for one dependency check; /health answers within about this long."""
MAX_DETAIL_CHARS = 300


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def _plain_dsn(database_url: str) -> str:
    """SQLAlchemy's `postgresql+psycopg://` URL as libpq understands it."""
    scheme, sep, rest = database_url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.startswith("postgresql") else database_url


def check_database(settings: Settings) -> str:
    with psycopg.connect(
        _plain_dsn(settings.database_url),
        connect_timeout=int(CHECK_TIMEOUT_SECONDS),
        options=f"-c statement_timeout={int(CHECK_TIMEOUT_SECONDS * 1000)}",
        application_name="appstack-health",
    ) as conn:
        row = conn.execute("SELECT 1").fetchone()
    if row != (1,):
        raise RuntimeError(f"SELECT 1 returned {row!r}")
    return "ok"


def check_redis(settings: Settings) -> str:
    client = redis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
        socket_timeout=CHECK_TIMEOUT_SECONDS,
        retry_on_timeout=False,
    )
    try:
        if not client.ping():
            raise RuntimeError("PING was not answered with PONG")
    finally:
        client.close()
    return "ok"


def check_object_store(settings: Settings) -> str:
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=CHECK_TIMEOUT_SECONDS, read=CHECK_TIMEOUT_SECONDS),
        retries=urllib3.Retry(total=0),
    )
    try:
        client = Minio(
            settings.s3_host,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            secure=settings.s3_secure,
            http_client=http,
        )
        if not client.bucket_exists(settings.s3_bucket_assets):
            raise RuntimeError(f"bucket {settings.s3_bucket_assets} does not exist")
        # Listing proves the credentials may read the bucket, not only see that it exists.
        next(iter(client.list_objects(settings.s3_bucket_assets)), None)
    finally:
        http.clear()
    return "ok"


CHECKS: dict[str, Callable[[Settings], str]] = {
    "database": check_database,
    "redis": check_redis,
    "object_store": check_object_store,
}


def _describe(error: BaseException, secrets: list[str]) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    for secret in secrets:
        text = text.replace(secret, "********")
    return " ".join(text.split())[:MAX_DETAIL_CHARS]


async def _run_one(name: str, check: Callable[[Settings], str], settings: Settings) -> CheckResult:
    try:
        detail = await asyncio.wait_for(
            asyncio.to_thread(check, settings), timeout=CHECK_TIMEOUT_SECONDS + 1
        )
        return CheckResult(name, True, detail)
    except TimeoutError:
        return CheckResult(name, False, f"no answer within {CHECK_TIMEOUT_SECONDS + 1:g}s")
    except Exception as err:  # every failure of a dependency is a reportable state
        return CheckResult(name, False, _describe(err, settings.secrets()))


async def run_checks(
    settings: Settings, checks: dict[str, Callable[[Settings], str]] | None = None
) -> list[CheckResult]:
    """Run all checks concurrently, so /health takes as long as the slowest one."""
    selected = CHECKS if checks is None else checks
    return list(
        await asyncio.gather(*(_run_one(name, check, settings) for name, check in selected.items()))
    )
