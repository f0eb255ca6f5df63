"""A real Redis server for tests: Debian's `redis-server` on 127.0.0.1, a free port, a tmp dir.

It requires a password (`--requirepass`) like the deployed cache, so the backend's health check
is tested with real authentication. No persistence: the tests only need it alive or stopped.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.realservers.process import free_port, stop_process

STARTUP_TIMEOUT_SECONDS = 15.0


@dataclass
class RedisServer:
    """A running Redis server; `stop()` shuts it down."""

    host: str
    port: int
    password: str
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path = field(repr=False)

    @property
    def url(self) -> str:
        """`redis://:password@host:port/0`, the form the backend reads from REDIS_URL."""
        return f"redis://:{self.password}@{self.host}:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, password=self.password, socket_timeout=2)

    def is_running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers; idempotent."""
        stop_process(self.process)


def start_redis(tmp: Path) -> RedisServer:
    """Start `redis-server` with a generated password on a free loopback port."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise AssertionError("redis-server is missing: run `apt-get install -y redis-server`")
    work_dir = Path(tmp) / f"redis-{secrets.token_hex(4)}"
    work_dir.mkdir(parents=True)
    password = secrets.token_urlsafe(18)
    port = free_port()
    config = work_dir / "redis.conf"
    # The password goes into a config file, not argv, so `ps` does not show it.
    config.write_text(
        "\n".join(
            [
                "bind 127.0.0.1",
                f"port {port}",
                f"requirepass {password}",
                f"dir {work_dir}",
                'save ""',
                "appendonly no",
                "daemonize no",
                "protected-mode yes",
                "",
            ]
        )
    )
    config.chmod(0o600)
    log_path = work_dir / "redis.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [binary, str(config)], stdout=log, stderr=subprocess.STDOUT, cwd=work_dir
        )
    server = RedisServer(
        host="127.0.0.1", port=port, password=password, process=process, log_path=log_path
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    last_error = ""
    while time.monotonic() < deadline:
        if not server.is_running():
            raise AssertionError(f"redis-server exited at startup:\n{log_path.read_text()}")
        try:
            if server.client().ping():
                return server
        except redis.RedisError as err:
            last_error = str(err)
        time.sleep(0.1)
    server.stop()
    raise AssertionError(f"redis-server did not answer PING: {last_error}")
