"""PgvectorExtension's provider against real PostgreSQL servers on loopback.

The provider methods are called with the property bags the engine passes, after a round trip
through Pulumi's own provider serialization (dill), as `pulumi up` does.
"""

from __future__ import annotations

import base64
import time
import traceback
from typing import Any

import dill
import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from appstack.pgvector import PgvectorError, PgvectorExtensionProvider
from tests.realservers.postgres import PostgresServer
from tests.realservers.process import free_port

pytestmark = pytest.mark.real

PGVECTOR_IMAGE = "pgvector/pgvector:pg17"
ALPINE_IMAGE = "postgres:15-alpine"


def props_for(
    server: PostgresServer, image: str = PGVECTOR_IMAGE, timeout: int = 10
) -> dict[str, Any]:
    """The inputs as the engine hands them to the provider (numbers arrive as floats)."""
    return {
        "host": server.host,
        "port": float(server.port),
        "database": server.database,
        "user": server.user,
        "password": server.password,
        "image": image,
        "connect_timeout_seconds": float(timeout),
    }


def engine_provider() -> PgvectorExtensionProvider:
    """The provider as the engine gets it: serialized by Pulumi, then `dill.loads`."""
    serialized = serialize_provider(PgvectorExtensionProvider())
    provider = dill.loads(base64.b64decode(serialized))
    assert isinstance(provider, PgvectorExtensionProvider)
    return provider


def live_extension_version(server: PostgresServer) -> str | None:
    with server.connect() as conn:
        row = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
    return None if row is None else str(row[0])


def engine_error_text(call: Any) -> str:
    """What the engine would print: the dynamic provider host sends `traceback.format_exc()`."""
    try:
        call()
    except Exception:
        return traceback.format_exc()
    raise AssertionError("expected the provider call to fail")


def test_create_installs_pgvector_and_reports_versions(pgvector_database: PostgresServer) -> None:
    assert live_extension_version(pgvector_database) is None
    provider = engine_provider()
    props = props_for(pgvector_database)

    result = provider.create(props)

    installed = live_extension_version(pgvector_database)
    assert installed is not None
    assert result.outs is not None
    assert result.outs["extension_version"] == installed
    assert result.outs["server_version"].startswith("18.")
    assert result.id == f"127.0.0.1:{pgvector_database.port}/{pgvector_database.database}#vector"
    assert {k: result.outs[k] for k in props} == props
    with pgvector_database.connect() as conn:
        conn.execute("CREATE TABLE probe (embedding vector(3))")
        conn.execute("INSERT INTO probe VALUES ('[1,2,3]')")


def test_create_update_and_diff_are_idempotent(pgvector_database: PostgresServer) -> None:
    provider = engine_provider()
    props = props_for(pgvector_database)
    first = provider.create(props).outs
    assert first is not None

    second = provider.create(props).outs
    updated = provider.update("id", first, props).outs

    assert second == first
    assert updated == first
    assert provider.diff("id", first, props).changes is False
    assert provider.read("id", first).outs == first


def test_dropped_extension_shows_as_drift_and_update_restores_it(
    pgvector_database: PostgresServer,
) -> None:
    provider = engine_provider()
    props = props_for(pgvector_database)
    state = provider.create(props).outs
    assert state is not None and state["extension_version"]

    with pgvector_database.connect() as conn:
        conn.execute("DROP EXTENSION vector")
    assert live_extension_version(pgvector_database) is None

    # `pulumi preview`/`up` without refresh: diff looks at the live database.
    assert provider.diff("id", state, props).changes is True
    # `pulumi refresh`: read reports what is really installed.
    refreshed = provider.read("id", state).outs
    assert refreshed is not None
    assert refreshed["extension_version"] == ""
    assert refreshed["server_version"] == state["server_version"]
    assert provider.diff("id", refreshed, props).changes is True

    restored = provider.update("id", refreshed, props).outs

    assert restored is not None
    assert restored["extension_version"] == state["extension_version"]
    assert live_extension_version(pgvector_database) == state["extension_version"]
    assert provider.diff("id", restored, props).changes is False


def test_changed_image_or_connection_is_an_update_never_a_replace(
    pgvector_database: PostgresServer,
) -> None:
    provider = engine_provider()
    props = props_for(pgvector_database)
    state = provider.create(props).outs
    assert state is not None

    for key, value in (("image", "pgvector/pgvector:pg17-other"), ("port", 1.0)):
        diff = provider.diff("id", state, {**props, key: value})
        assert diff.changes is True, key
        assert diff.replaces == [], key


def test_delete_keeps_extension_and_data(pgvector_database: PostgresServer) -> None:
    provider = engine_provider()
    props = props_for(pgvector_database)
    state = provider.create(props).outs
    assert state is not None
    with pgvector_database.connect() as conn:
        conn.execute("CREATE TABLE keep (embedding vector(2))")
        conn.execute("INSERT INTO keep VALUES ('[1,1]')")

    provider.delete("id", state)

    assert live_extension_version(pgvector_database) == state["extension_version"]
    with pgvector_database.connect() as conn:
        assert conn.execute("SELECT count(*) FROM keep").fetchone() == (1,)


def test_provider_pickles_without_live_state(pgvector_database: PostgresServer) -> None:
    provider = PgvectorExtensionProvider()
    provider.create(props_for(pgvector_database))  # using it must not leave state behind

    assert vars(provider) == {}
    restored = dill.loads(dill.dumps(provider, recurse=True))
    outs = restored.create(props_for(pgvector_database)).outs
    assert outs is not None and outs["extension_version"]
    serialized = base64.b64decode(serialize_provider(provider))
    assert pgvector_database.password.encode() not in serialized
    assert b"psycopg.Connection" not in serialized


def test_image_without_pgvector_fails_with_a_clear_message(
    plain_postgres_server: PostgresServer,
) -> None:
    with plain_postgres_server.connect() as conn:
        available = conn.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"
        ).fetchone()
    assert available == (0,), (
        "Debian's postgresql-15 must not have pgvector for this test: "
        "`apt-get remove postgresql-15-pgvector`"
    )
    provider = engine_provider()
    props = props_for(plain_postgres_server, image=ALPINE_IMAGE)

    with pytest.raises(PgvectorError) as raised:
        provider.create(props)

    message = str(raised.value)
    assert f"'{ALPINE_IMAGE}' does not provide the pgvector extension" in message
    assert "pgvector/pgvector:pg17" in message
    assert plain_postgres_server.password not in engine_error_text(lambda: provider.create(props))
    assert live_extension_version(plain_postgres_server) is None


def test_gives_up_after_the_timeout_saying_what_it_waited_for() -> None:
    port = free_port()
    secret = "do-not-print-this-password"
    props = {
        "host": "127.0.0.1",
        "port": float(port),
        "database": "appstack",
        "user": "appstack",
        "password": secret,
        "image": PGVECTOR_IMAGE,
        "connect_timeout_seconds": 3.0,
    }
    started = time.monotonic()

    text = engine_error_text(lambda: engine_provider().create(props))

    elapsed = time.monotonic() - started
    assert 2.0 <= elapsed < 8.0
    assert f"The database at 127.0.0.1:{port}/appstack" in text
    assert "did not accept connections within 3s" in text
    assert "Connection refused" in text  # the last error, as the driver said it
    assert secret not in text


def test_wrong_password_fails_at_once_without_the_password(
    pgvector_database: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An authentication failure will not change by waiting: no retry for the whole timeout."""
    wrong = "wrong-password-never-shown"
    props = {**props_for(pgvector_database, timeout=60), "password": wrong}
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)

    text = engine_error_text(lambda: engine_provider().create(props))

    assert slept == [], "an authentication failure must not be retried"
    assert "password authentication failed" in text
    assert "refused the connection" in text and "was not retried" in text
    assert "keeps the password it was created with" in text
    assert wrong not in text
    assert pgvector_database.password not in text


def test_an_unknown_database_fails_at_once(
    pgvector_database: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    props = {**props_for(pgvector_database, timeout=60), "database": "no_such_database"}
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)

    text = engine_error_text(lambda: engine_provider().create(props))

    assert slept == []
    assert 'database "no_such_database" does not exist' in text


def test_read_of_unreachable_database_fails_clearly_without_password() -> None:
    props = {
        "host": "127.0.0.1",
        "port": float(free_port()),
        "database": "appstack",
        "user": "appstack",
        "password": "hidden-password-value",
        "image": PGVECTOR_IMAGE,
        "connect_timeout_seconds": 2.0,
    }
    text = engine_error_text(lambda: engine_provider().read("id", props))
    assert "Cannot read the pgvector extension state of 127.0.0.1:" in text
    assert "hidden-password-value" not in text


def test_check_rejects_bad_inputs_and_accepts_unknowns() -> None:
    provider = PgvectorExtensionProvider()
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    bad = {
        "host": "",
        "port": 70000.0,
        "database": "appstack",
        "user": "appstack",
        "password": "x",
        "image": PGVECTOR_IMAGE,
        "connect_timeout_seconds": 0.0,
    }
    failed = {f.property for f in provider.check({}, bad).failures}
    assert failed == {"host", "port", "connect_timeout_seconds"}

    preview = {**bad, "host": unknown, "port": unknown, "connect_timeout_seconds": 60.0}
    assert provider.check({}, preview).failures == []
    # What the dynamic-provider server of this SDK really hands `check` for a value not known
    # yet (a generated password at the preview of a new stack): pulumi.output.Unknown objects.
    engine = {
        **bad,
        "host": pulumi.output.UNKNOWN,
        "port": pulumi.output.UNKNOWN,
        "password": pulumi.output.UNKNOWN,
        "connect_timeout_seconds": 60.0,
    }
    assert provider.check({}, engine).failures == []
