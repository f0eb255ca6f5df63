"""PgvectorExtension: the deployment itself verifies that the database has pgvector.

A dynamic resource (psycopg 3) that waits for the deployed database to accept connections,
runs `CREATE EXTENSION IF NOT EXISTS vector`, and outputs the installed pgvector version and
the server version. Against an image without pgvector (the `postgres:15-alpine` incident) it
fails with an error naming the image and the fix, so nothing after it (migrations, backend) is
created. `read` reports the live extension so `pulumi refresh` shows a dropped extension as
drift; `diff` also looks at the live database so the next `up` restores it. Deleting the
resource never drops the extension or any data.

The provider is pickled by the engine (dill): it holds no connection or module-level state and
opens a connection inside each method. The password is an input marked secret in outputs and is
never part of an error message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import psycopg
import pulumi
import pulumi.dynamic as dynamic
from psycopg import errors as pg_errors

EXTENSION_NAME = "vector"
SUGGESTED_IMAGE = "pgvector/pgvector:pg17"
RETRY_INTERVAL_SECONDS = 1.0
SINGLE_ATTEMPT_TIMEOUT_SECONDS = 5
LIVE_DIFF_TIMEOUT_SECONDS = 3
"""How long `diff` (run on every preview) may spend looking at the live database."""

CONNECTION_KEYS = ("host", "port", "database", "user", "password")
INPUT_KEYS = (*CONNECTION_KEYS, "image", "connect_timeout_seconds")
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""How the dynamic provider host represents a value not known yet (preview)."""


class PgvectorError(Exception):
    """A deployment error meant to be read by a person: what failed and what to do."""


@dataclass
class PgvectorExtensionArgs:
    """Where the deployed database is and how long to wait for it."""

    host: pulumi.Input[str]
    """Host name or address the deployment can reach the database on (e.g. 127.0.0.1)."""
    port: pulumi.Input[int]
    """TCP port of the database as published to the deployment host."""
    database: pulumi.Input[str]
    """Database to create the extension in (the application's database)."""
    user: pulumi.Input[str]
    """A role allowed to create extensions (the container's superuser)."""
    password: pulumi.Input[str]
    """Password of `user`; kept secret in state and never shown in errors."""
    image: pulumi.Input[str]
    """The plain image reference the database runs, named in errors about a missing pgvector."""
    connect_timeout_seconds: pulumi.Input[int] = 60
    """How long to wait for the database to accept connections before failing."""


def _scrub(text: str, password: str) -> str:
    """Remove the password from a message, in case a driver ever echoes connection details."""
    if password:
        text = text.replace(password, "********")
    return text


def _target(props: dict[str, Any]) -> str:
    return f"{props['host']}:{int(props['port'])}/{props['database']}"


def _connect_once(props: dict[str, Any], timeout_seconds: int) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=str(props["host"]),
        port=int(props["port"]),
        dbname=str(props["database"]),
        user=str(props["user"]),
        password=str(props["password"]),
        connect_timeout=max(1, int(timeout_seconds)),
        autocommit=True,
        application_name="appstack-pgvector",
    )


def _connect_with_retry(props: dict[str, Any]) -> psycopg.Connection[Any]:
    """Connect, retrying until `connect_timeout_seconds` have passed; say what was awaited."""
    timeout = float(props.get("connect_timeout_seconds") or 60)
    started = time.monotonic()
    deadline = started + timeout
    attempts = 0
    last_error = "no attempt made"
    while True:
        attempts += 1
        remaining = deadline - time.monotonic()
        try:
            return _connect_once(props, int(min(SINGLE_ATTEMPT_TIMEOUT_SECONDS, max(1, remaining))))
        except psycopg.OperationalError as err:
            last_error = _scrub(str(err).strip(), str(props["password"])) or type(err).__name__
        if time.monotonic() + RETRY_INTERVAL_SECONDS >= deadline:
            break
        time.sleep(RETRY_INTERVAL_SECONDS)
    waited = time.monotonic() - started
    raise PgvectorError(
        f"The database at {_target(props)} (user {props['user']}, image {props['image']}) did not "
        f"accept connections within {timeout:g}s (waited {waited:.1f}s, {attempts} attempts). "
        f"Last error: {last_error}"
    )


def _missing_extension_message(props: dict[str, Any]) -> str:
    return (
        f"The database image '{props['image']}' does not provide the pgvector extension "
        f"('{EXTENSION_NAME}' is not available in {_target(props)}), so the schema's vector "
        f"columns cannot be created. Use a PostgreSQL image that ships pgvector, such as "
        f"'{SUGGESTED_IMAGE}' (or the pgvector/pgvector tag matching your PostgreSQL major "
        f"version), and deploy again. Nothing after this step (migrations, backend) was changed."
    )


def _installed_version(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = %s", (EXTENSION_NAME,)
    ).fetchone()
    return str(row[0]) if row else None


def _server_version(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else ""


def _ensure_extension(props: dict[str, Any]) -> dict[str, Any]:
    """Wait for the database, create the extension if needed, and return the live versions."""
    password = str(props["password"])
    with _connect_with_retry(props) as conn:
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = %s", (EXTENSION_NAME,)
        ).fetchone()
        if available is None:
            raise PgvectorError(_missing_extension_message(props))
        try:
            conn.execute(f"CREATE EXTENSION IF NOT EXISTS {EXTENSION_NAME}")
        except (pg_errors.FeatureNotSupported, pg_errors.UndefinedFile):
            raise PgvectorError(_missing_extension_message(props)) from None
        except pg_errors.InsufficientPrivilege as err:
            raise PgvectorError(
                f"The role '{props['user']}' may not create the '{EXTENSION_NAME}' extension in "
                f"{_target(props)} (image {props['image']}): "
                f"{_scrub(str(err).strip(), password)}. Connect as the database superuser."
            ) from None
        except psycopg.Error as err:
            raise PgvectorError(
                f"CREATE EXTENSION {EXTENSION_NAME} failed in {_target(props)} "
                f"(image {props['image']}): {_scrub(str(err).strip(), password)}"
            ) from None
        version = _installed_version(conn)
        if not version:
            raise PgvectorError(
                f"CREATE EXTENSION {EXTENSION_NAME} reported success in {_target(props)} but the "
                "extension is not listed in pg_extension."
            )
        return {"extension_version": version, "server_version": _server_version(conn)}


def _live_state(props: dict[str, Any], timeout_seconds: int) -> dict[str, Any]:
    """One connection attempt: the installed extension version (or None) and server version."""
    try:
        with _connect_once(props, timeout_seconds) as conn:
            return {
                "extension_version": _installed_version(conn),
                "server_version": _server_version(conn),
            }
    except psycopg.OperationalError as err:
        raise PgvectorError(
            f"Cannot read the pgvector extension state of {_target(props)} "
            f"(image {props['image']}): {_scrub(str(err).strip(), str(props['password']))}"
        ) from None


def _inputs(props: dict[str, Any]) -> dict[str, Any]:
    return {key: props.get(key) for key in INPUT_KEYS}


def _has_unknowns(props: dict[str, Any]) -> bool:
    return any(props.get(key) == UNKNOWN for key in CONNECTION_KEYS)


class PgvectorExtensionProvider(dynamic.ResourceProvider):
    """CRUD for the `vector` extension of one database; see the module docstring."""

    serialize_as_secret_always = True

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        """Validate inputs before any connection (unknown values pass: they are checked later)."""
        failures: list[dynamic.CheckFailure] = []

        def known(key: str) -> bool:
            return news.get(key) is not None and news.get(key) != UNKNOWN

        for key in ("host", "database", "user", "image"):
            value = news.get(key)
            if value == UNKNOWN:
                continue
            if not isinstance(value, str) or not value.strip():
                failures.append(dynamic.CheckFailure(key, f"{key} must be a non-empty string"))
        if known("port"):
            port = news["port"]
            if not isinstance(port, int | float) or int(port) != port or not 0 < port < 65536:
                failures.append(dynamic.CheckFailure("port", "port must be an integer 1-65535"))
        if news.get("password") is None:
            failures.append(dynamic.CheckFailure("password", "password is required"))
        if known("connect_timeout_seconds"):
            timeout = news["connect_timeout_seconds"]
            if not isinstance(timeout, int | float) or timeout <= 0:
                failures.append(
                    dynamic.CheckFailure(
                        "connect_timeout_seconds", "connect_timeout_seconds must be > 0"
                    )
                )
        return dynamic.CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        outs = {**_inputs(props), **_ensure_extension(props)}
        resource_id = f"{_target(props)}#{EXTENSION_NAME}"
        return dynamic.CreateResult(resource_id, outs)

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        """What is really installed now: extension_version is "" when it was dropped."""
        live = _live_state(props, int(props.get("connect_timeout_seconds") or 60))
        outs = {
            **_inputs(props),
            "extension_version": live["extension_version"] or "",
            "server_version": live["server_version"],
        }
        return dynamic.ReadResult(id_, outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        """Changed inputs, or an extension missing in state or live, mean an update."""
        changed = [key for key in INPUT_KEYS if olds.get(key) != news.get(key)]
        if not olds.get("extension_version"):
            changed.append("extension_version")
        elif not _has_unknowns(news) and not changed:
            try:
                live = _live_state(news, LIVE_DIFF_TIMEOUT_SECONDS)
            except PgvectorError:
                live = None  # unreachable during preview: judge by state, update will wait
            if live is not None and not live["extension_version"]:
                changed.append("extension_version")
        return dynamic.DiffResult(
            changes=bool(changed), replaces=[], stables=[], delete_before_replace=False
        )

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        """Re-verify (and re-create if dropped) against the possibly new database or image."""
        return dynamic.UpdateResult({**_inputs(news), **_ensure_extension(news)})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Never drop the extension: columns of type vector and their data depend on it."""


class PgvectorExtension(dynamic.Resource, module="appstack", name="PgvectorExtension"):
    """Ensures pgvector in a deployed database; fails clearly on images without it."""

    extension_version: pulumi.Output[str]
    """The installed pgvector version, e.g. "0.8.0"."""
    server_version: pulumi.Output[str]
    """The PostgreSQL server version, e.g. "17.2 (Debian 17.2-1.pgdg120+1)"."""

    def __init__(
        self,
        name: str,
        args: PgvectorExtensionArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["password"])
        props: dict[str, Any] = {
            "host": args.host,
            "port": args.port,
            "database": args.database,
            "user": args.user,
            "password": pulumi.Output.secret(args.password),
            "image": args.image,
            "connect_timeout_seconds": args.connect_timeout_seconds,
            "extension_version": None,
            "server_version": None,
        }
        super().__init__(
            PgvectorExtensionProvider(),
            name,
            props,
            pulumi.ResourceOptions.merge(opts, secret_opts),
        )
