"""Start a real MinIO server on loopback for tests and benchmarks.

The binary is the one `toolchain/build-minio.sh` builds into the appstack cache; a missing binary is
an error that names that script, never a skipped test.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.realservers.process import free_port, stop_process

REPO_ROOT = Path(__file__).resolve().parents[2]
VERSIONS_FILE = REPO_ROOT / "toolchain" / "versions.env"
READY_TIMEOUT_SECONDS = 60.0


def _pinned_versions() -> dict[str, str]:
    """Read KEY=VALUE lines of toolchain/versions.env, the one place versions are pinned."""
    versions: dict[str, str] = {}
    for line in VERSIONS_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            versions[key.strip()] = value.strip().strip("\"'")
    return versions


def minio_binary() -> Path:
    """Path of the cached MinIO server binary for the pinned release (it may not exist yet)."""
    cache_root = Path(os.environ.get("APPSTACK_CACHE") or Path.home() / ".cache" / "appstack")
    release = _pinned_versions()["MINIO_RELEASE"]
    return cache_root / f"minio-{release}" / "minio"


@dataclass
class MinioServer:
    """A running MinIO server: where it listens, its root credentials and its process."""

    endpoint: str
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    console_endpoint: str
    log_path: Path = field(repr=False)

    @property
    def url(self) -> str:
        """Base HTTP URL of the S3 API."""
        return f"http://{self.endpoint}"

    def log_tail(self, lines: int = 30) -> str:
        """Last lines of the server log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and wait for it to exit."""
        stop_process(self.process)


def _wait_ready(server: MinioServer, timeout: float) -> None:
    """Poll /minio/health/ready until it answers 200; fail with the log if the server died."""
    deadline = time.monotonic() + timeout
    url = f"{server.url}/minio/health/ready"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"MinIO exited with code {server.process.returncode} before it was ready:\n"
                f"{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"MinIO was not ready at {url} within {timeout:.0f} s:\n{server.log_tail()}")


def start_minio(data_dir: Path, ready_timeout: float = READY_TIMEOUT_SECONDS) -> MinioServer:
    """Start MinIO on free 127.0.0.1 ports with fresh random root credentials; wait until ready.

    Data and the server log live under `data_dir`; call `stop()` when done.
    """
    binary = minio_binary()
    if not os.access(binary, os.X_OK):
        raise FileNotFoundError(
            f"MinIO server binary not found at {binary}: run `toolchain/build-minio.sh` first "
            "(it builds MinIO from its Go module with the machine's Go and caches it)"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    storage = data_dir / "data"
    storage.mkdir(exist_ok=True)
    port, console_port = free_port(), free_port()
    while console_port == port:
        console_port = free_port()
    access_key = "appstack-" + secrets.token_hex(6)
    secret_key = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "MINIO_ROOT_USER": access_key,
        "MINIO_ROOT_PASSWORD": secret_key,
        "MINIO_UPDATE": "off",
        "MINIO_BROWSER_REDIRECT": "off",
    }
    log_path = data_dir / "minio.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(binary),
                "server",
                "--quiet",
                "--address",
                f"127.0.0.1:{port}",
                "--console-address",
                f"127.0.0.1:{console_port}",
                str(storage),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = MinioServer(
        endpoint=f"127.0.0.1:{port}",
        access_key=access_key,
        secret_key=secret_key,
        process=process,
        data_dir=data_dir,
        console_endpoint=f"127.0.0.1:{console_port}",
        log_path=log_path,
    )
    _wait_ready(server, ready_timeout)
    return server
