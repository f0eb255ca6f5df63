"""The Kubernetes migration's revision reader against a real PostgreSQL with pgvector."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from appstack.migrate import REVISION_MARKER
from appstack.migration import revision_from_stdout
from tests.realservers.postgres import PostgresServer

pytestmark = pytest.mark.real


def read_revision(dsn: str) -> subprocess.CompletedProcess[str]:
    """`python -m appstack.k8s.revision` as the Migration's command runs it (URL in the env)."""
    return subprocess.run(
        [sys.executable, "-m", "appstack.k8s.revision"],
        env={**os.environ, "DATABASE_URL": dsn},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_it_prints_the_revision_the_database_is_at(pgvector_database: PostgresServer) -> None:
    with pgvector_database.connect() as conn:
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('0002_documents')")
    done = read_revision(pgvector_database.dsn)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"{REVISION_MARKER} 0002_documents"
    assert revision_from_stdout(done.stdout) == "0002_documents"


def test_it_fails_without_a_migrated_schema_and_never_prints_the_url(
    pgvector_database: PostgresServer,
) -> None:
    done = read_revision(pgvector_database.dsn)
    assert done.returncode == 1
    assert "cannot read alembic_version: UndefinedTable" in done.stderr
    password = pgvector_database.dsn.split(":")[2].split("@")[0]
    assert password not in done.stdout + done.stderr
