"""Run the backend application (app/) for tests as the image runs it: alembic and the server.

`run_alembic` executes the `alembic` command from app/ (where alembic.ini is), like the
migration job runs `alembic upgrade head` in the image's workdir. `start_backend` runs
`python -m appstack_backend` (the image's CMD) on a free loopback port and waits until it answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.realservers.process import free_port, stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_DIR = REPO_ROOT / "app"
STARTUP_TIMEOUT_SECONDS = 30.0


def _venv_bin(program: str) -> str:
    return str(Path(sys.executable).parent / program)


def run_alembic(
    database_url: str | None, *args: str, app_dir: Path = APP_DIR, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`alembic <args>` in `app_dir` with DATABASE_URL in the environment only."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [_venv_bin("alembic"), *args],
        cwd=app_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class BackendProcess:
    """The backend server running as a subprocess; `stop()` ends it."""

    url: str
    port: int
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path = field(repr=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process, grace_seconds=15)


def start_backend(app_env: Mapping[str, str], tmp: Path) -> BackendProcess:
    """Start `python -m appstack_backend` with `app_env` (HOST/PORT are set here)."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL") and not key.startswith("S3_")
    }
    env.update(app_env)
    env.update(
        {
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": str(APP_DIR),
        }
    )
    log_path = Path(tmp) / f"backend-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "appstack_backend"],
            cwd=APP_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    backend = BackendProcess(
        url=f"http://127.0.0.1:{port}", port=port, process=process, log_path=log_path
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the backend exited at startup:\n{backend.log()}")
        try:
            # Any HTTP answer means the server is up; /health may legitimately be 503.
            httpx.get(f"{backend.url}/openapi.json", timeout=2)
            return backend
        except httpx.TransportError:
            time.sleep(0.2)
    backend.stop()
    raise AssertionError(f"the backend did not answer within {STARTUP_TIMEOUT_SECONDS}s")
