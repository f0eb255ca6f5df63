"""Process helpers shared by the real-server fixtures: a free loopback port, and a bounded stop."""

from __future__ import annotations

import signal
import socket
import subprocess


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def stop_process(
    process: subprocess.Popen[bytes],
    *,
    stop_signal: int = signal.SIGTERM,
    grace_seconds: float = 10.0,
) -> None:
    """Send `stop_signal`, then SIGKILL if the process outlives the grace period; idempotent."""
    if process.poll() is not None:
        return
    process.send_signal(stop_signal)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
