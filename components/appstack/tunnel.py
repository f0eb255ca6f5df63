"""SSH tunnel mode: reach a remote host's services through local port forwards.

Where the services must not be exposed on the team's network, they bind to the remote host's
loopback (`network.bindAddress: 127.0.0.1`) and `docker.tunnel: true` makes the deploying
machine reach them through `ssh -N -L <connectAddress>:<port>:<bindAddress>:<port>` for every
service port, with the stack's `sshOpts`. The program opens the tunnel before it declares
anything and closes it when it exits, which the engine waits for until every step is done: the
pgvector check and the bucket provider run while it is open. `python -m delivery verify` opens
the same tunnel for its checks. The connect address is a loopback address (127.0.0.1 by
default; another one such as 127.0.0.2 when the remote host is this very machine).

The migration job needs no tunnel: it runs on the remote engine, on the services' network.
`pulumi destroy` and `pulumi refresh` do not run the program: give them `--run-program` so the
tunnel is open while the bucket provider reads or deletes buckets.
"""

from __future__ import annotations

import atexit
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pulumi

from appstack.docker_target import DockerTarget, parse_ssh_host, shown_host

OPEN_TIMEOUT_SECONDS = 30.0
TUNNEL_SSH_OPTIONS = (
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=yes",
    "-o", "ExitOnForwardFailure=yes",
    "-o", "ServerAliveInterval=15",
    "-o", "ConnectTimeout=10",
)  # fmt: skip
"""Given before the user's options (ssh keeps the first value of each)."""


class TunnelError(pulumi.RunError):
    """The tunnel could not be opened; the message names the host and what to do."""


@dataclass(frozen=True)
class Forward:
    """`local_address:port` here to `remote_address:port` on the remote host."""

    local_address: str
    remote_address: str
    port: int

    @property
    def spec(self) -> str:
        return f"{self.local_address}:{self.port}:{self.remote_address}:{self.port}"


def forwards(connect_address: str, bind_address: str, ports: Iterable[int]) -> list[Forward]:
    """One forward per service port, in port order."""
    return [Forward(connect_address, bind_address, port) for port in sorted(set(ports))]


def tunnel_argv(target: DockerTarget, wanted: Sequence[Forward]) -> list[str]:
    """`ssh -N` with one `-L` per forward, the strict options first, then the user's."""
    specs: list[str] = []
    for forward in wanted:
        specs += ["-L", forward.spec]
    options = [*TUNNEL_SSH_OPTIONS, *target.ssh_opts, "-N", *specs]
    return parse_ssh_host(target.host).ssh_argv(options)


def _listening(forward: Forward) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((forward.local_address, forward.port)) == 0


class Tunnel:
    """A running `ssh -N -L ...`; `close()` stops it by its PID (also at interpreter exit)."""

    def __init__(self, target: DockerTarget, wanted: Sequence[Forward]) -> None:
        self.target = target
        self.forwards = list(wanted)
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the tunnel
        self.process = subprocess.Popen(
            tunnel_argv(target, self.forwards),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        atexit.register(self.close)
        try:
            self._wait_open()
        except BaseException:
            self.close()
            raise

    def _wait_open(self) -> None:
        deadline = time.monotonic() + OPEN_TIMEOUT_SECONDS
        while not all(_listening(forward) for forward in self.forwards):
            if self.process.poll() is not None:
                self._log.seek(0)
                lines = self._log.read().decode(errors="replace").strip().splitlines()
                reason = (lines[-1:] or [f"ssh exited with status {self.process.returncode}"])[0]
                raise TunnelError(
                    f"cannot open the SSH tunnel to {shown_host(self.target.host)} "
                    f"({reason[:200]}). Check that the host allows TCP forwarding "
                    "(AllowTcpForwarding) and that no local program listens on the forwarded "
                    f"ports ({', '.join(f.spec for f in self.forwards)})."
                )
            if time.monotonic() > deadline:
                raise TunnelError(
                    f"the SSH tunnel to {shown_host(self.target.host)} did not open within "
                    f"{OPEN_TIMEOUT_SECONDS:g}s"
                )
            time.sleep(0.1)

    def close(self) -> None:
        """Stop ssh (idempotent)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> Tunnel:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def loopback_problem(address: object) -> str | None:
    """Why `address` cannot be where a tunnel listens (it must be 127.x.x.x), or None."""
    if isinstance(address, str) and address.startswith("127.") and address.count(".") == 3:
        parts = address.split(".")
        if all(part.isdigit() and str(int(part)) == part and int(part) < 256 for part in parts):
            return None
    return "a loopback address such as 127.0.0.1 (the tunnel listens on this machine only)"
