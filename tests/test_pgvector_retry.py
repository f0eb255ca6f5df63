"""When the pgvector check retries: only while the server is not up yet (no server needed)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from appstack import pgvector
from appstack.pgvector import PgvectorError, server_not_up_yet

PROPS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 5432.0,
    "database": "appstack",
    "user": "appstack",
    "password": "Zr8qP2mXw7LkT4vN9cB1hJ6sD3fG5aY0",
    "image": "pgvector/pgvector:pg17",
    "connect_timeout_seconds": 600.0,
}
REFUSED = (
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection '
    "refused\n\tIs the server running on that host and accepting TCP/IP connections?"
)
STARTING = (
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  the '
    "database system is starting up"
)
AUTH = (
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  password '
    'authentication failed for user "appstack"'
)
NO_ROLE = (
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  role '
    '"nobody" does not exist'
)


@pytest.mark.parametrize(
    ("message", "retried"),
    [
        (REFUSED, True),
        (STARTING, True),
        ("connection failed: timeout expired", True),
        ("connection failed: server closed the connection unexpectedly", True),
        (AUTH, False),
        (NO_ROLE, False),
        ('FATAL:  database "x" does not exist', False),
        ("FATAL:  no pg_hba.conf entry for host", False),
        ('could not translate host name "db" to address', False),
    ],
)
def test_only_a_server_that_is_not_up_yet_is_retried(message: str, retried: bool) -> None:
    assert server_not_up_yet(psycopg.OperationalError(message)) is retried


def _attempts(monkeypatch: pytest.MonkeyPatch, errors: list[str]) -> list[int]:
    """Make each connection attempt fail with the next error (then succeed); count attempts."""
    calls: list[int] = []

    def connect_once(_props: dict[str, Any], timeout: int) -> Any:
        calls.append(timeout)
        if len(calls) <= len(errors):
            raise psycopg.OperationalError(errors[len(calls) - 1])
        return "connection"

    monkeypatch.setattr(pgvector, "_connect_once", connect_once)
    monkeypatch.setattr(pgvector.time, "sleep", lambda _seconds: None)
    return calls


def test_a_starting_server_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _attempts(monkeypatch, [REFUSED, REFUSED, STARTING])
    assert pgvector._connect_with_retry(dict(PROPS)) == "connection"
    assert len(calls) == 4


@pytest.mark.parametrize("error", [AUTH, NO_ROLE])
def test_a_refusal_by_a_running_server_fails_at_the_first_attempt(
    monkeypatch: pytest.MonkeyPatch, error: str
) -> None:
    calls = _attempts(monkeypatch, [REFUSED, error])
    with pytest.raises(PgvectorError) as caught:
        pgvector._connect_with_retry(dict(PROPS))
    assert len(calls) == 2, "no attempt after the server answered with a refusal"
    message = str(caught.value)
    assert "refused the connection" in message and "not retried" in message
    assert PROPS["password"] not in message
