"""Pytest fixtures that start real servers on loopback; registered by tests/conftest.py
(`pytest_plugins = ["tests.realservers.fixtures"]`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.realservers.minio import MinioServer, start_minio


@pytest.fixture(scope="session")
def minio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MinioServer]:
    """One real MinIO server for the session, in its own temporary directory."""
    server = start_minio(tmp_path_factory.mktemp("minio"))
    try:
        yield server
    finally:
        server.stop()
