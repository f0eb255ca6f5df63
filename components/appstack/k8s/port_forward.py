"""Reaching a cluster's services from the deploying machine through `kubectl port-forward`.

A laptop that deploys to a cluster can rarely route to its node, pod or Service addresses; what it
can always do is what `kubectl port-forward` does: ask the API server to open a stream to a pod's
port through the kubelet. With pods on the cluster's network (`host_network=False`), appstack
reaches the database (the pgvector check, the migration revision), the object store (the bucket
provider) and, for `python -m delivery verify`, every service that way.

`PortForward` listens on a loopback address of the deploying machine, one listener per service
port (the stack's own port numbers, so that the addresses in the state stay the same from one run
to the next). Each connection to a listener starts its own `kubectl port-forward service/NAME` to
an ephemeral local port and is passed through it (kubectl picks a running pod behind the Service
when it starts, so a replaced pod is no concern). So a listener can be opened before the pods
exist: the program opens the forwards before it declares anything and closes them when it exits,
which the engine waits for until every step is done. `pulumi destroy` and `pulumi refresh` do
not run the program: give them `--run-program`, as for the Docker target's SSH tunnel.

Each kubectl is stopped by its PID when its connection ends or on `close()` (also at interpreter
exit); the kernel also stops it if the thread that started it (the one passing its connection)
ends, so a program that exits without running its exit handlers leaves none behind.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

if TYPE_CHECKING:
    from appstack.settings import KubernetesSettings

START_TIMEOUT_SECONDS = 30.0
"""How long a kubectl port-forward may take to say where it listens."""
KUBECTL_ENV = "APPSTACK_KUBECTL"
"""The kubectl to run; default: `kubectl` on PATH."""
_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) -> \d+")
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)
"""Resolved here, not in the forked child (which must not load libraries)."""


class PortForwardError(pulumi.RunError):
    """A forward could not be opened; the message says which and what to do."""


@dataclass(frozen=True)
class ClusterAccess:
    """Which cluster and namespace kubectl talks to, as the stack's `kubernetes.Provider` does."""

    namespace: str
    kubeconfig: str = ""
    """A kubeconfig document (a secret); empty: the deploying machine's own kubeconfig."""
    context: str = ""
    """A context of that kubeconfig; empty: its current context."""
    kubectl: str = ""
    """The kubectl executable; empty: $APPSTACK_KUBECTL, else `kubectl` on PATH."""


def kubectl_executable(access: ClusterAccess) -> str:
    """The kubectl to run, or PortForwardError naming how to provide one."""
    wanted = access.kubectl or os.environ.get(KUBECTL_ENV, "") or "kubectl"
    found = shutil.which(wanted)
    if found is None:
        raise PortForwardError(
            f"reaching the cluster's services needs kubectl (for `kubectl port-forward`), and "
            f"{wanted!r} was not found: install kubectl or set {KUBECTL_ENV} to its path"
        )
    return found


def port_forward_argv(
    kubectl: str, access: ClusterAccess, kubeconfig_file: str | None, service: str, port: int
) -> list[str]:
    """`kubectl port-forward service/NAME :PORT` on 127.0.0.1 in the access's namespace."""
    argv = [kubectl]
    if kubeconfig_file:
        argv += ["--kubeconfig", kubeconfig_file]
    if access.context:
        argv += ["--context", access.context]
    return [
        *argv,
        "--namespace",
        access.namespace,
        "port-forward",
        f"service/{service}",
        f":{port}",
        "--address",
        "127.0.0.1",
    ]


def _die_with_parent_thread() -> None:  # pragma: no cover - runs in the child before exec
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class _Kubectl:
    """One running `kubectl port-forward` and the local port it listens on."""

    def __init__(self, argv: Sequence[str], what: str) -> None:
        self.errors: list[str] = []
        """What it wrote to stderr last (for the error when it does not start)."""
        self.process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_die_with_parent_thread,
        )
        ports: queue.Queue[int | None] = queue.Queue()
        threading.Thread(target=self._read_stdout, args=(ports,), daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        try:
            port = ports.get(timeout=START_TIMEOUT_SECONDS)
        except queue.Empty:
            port = None
        if port is None:
            self.stop()
            said = "; ".join(self.errors[-3:]) or "nothing"
            raise PortForwardError(
                f"kubectl port-forward to {what} did not start within "
                f"{START_TIMEOUT_SECONDS:g} s (it said: {said})"
            )
        self.port = port

    def _read_stdout(self, ports: queue.Queue[int | None]) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            match = _FORWARDING.search(line)
            if match:
                ports.put(int(match.group(1)))
        ports.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            line = line.strip()
            if line:
                self.errors.append(line)
                del self.errors[:-10]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


class _Listener:
    """`address:port` here, passing each connection to `service:port` through a kubectl of its
    own (which picks a running pod behind the Service at that moment: a replaced pod is no
    concern), stopped when the connection ends."""

    def __init__(self, address: str, port: int, start: Callable[[], _Kubectl], what: str) -> None:
        self._start = start
        self._running: set[_Kubectl] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((address, port))
        except OSError as error:
            self._socket.close()
            raise PortForwardError(
                f"cannot listen on {address}:{port} for the port-forward to {what}: "
                f"{error.strerror or error} (another process uses that port here: stop it, or "
                f"give the stack another port or kubernetes.connectAddress)"
            ) from None
        self._socket.listen(64)
        self._thread = threading.Thread(target=self._serve, name=f"forward {what}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._socket.accept()
            except OSError:
                return
            threading.Thread(target=self._pass, args=(client,), daemon=True).start()

    def _pass(self, client: socket.socket) -> None:
        """Pass one connection through a new kubectl; the client sees a closed connection when
        the pod cannot be reached now (and may retry)."""
        try:
            kubectl = self._start()
        except PortForwardError:
            client.close()
            return
        with self._lock:
            self._running.add(kubectl)
        try:
            upstream = socket.create_connection(("127.0.0.1", kubectl.port), timeout=10)
        except OSError:
            pass  # kubectl already ended: the client sees its connection closed
        else:
            upstream.settimeout(None)
            sending = threading.Thread(target=_pipe, args=(client, upstream), daemon=True)
            sending.start()
            _pipe(upstream, client)  # until the server's side is done
            sending.join(timeout=5)
            upstream.close()
        finally:
            client.close()
            kubectl.stop()
            with self._lock:
                self._running.discard(kubectl)

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        self._thread.join(timeout=5)
        with self._lock:
            running, self._running = list(self._running), set()
        for kubectl in running:
            kubectl.stop()


class PortForward:
    """Local listeners on `address` that reach services of one namespace through kubectl.

    `forward(service, port)` opens (once) a listener on `address:port` and returns that address;
    nothing contacts the cluster before a client connects. `close()` stops everything. With
    `listen=False` (a program under mocks: `make check`, `policies.check`) it only says where the
    services would be, and needs neither kubectl nor free ports.
    """

    def __init__(
        self, access: ClusterAccess, address: str = "127.0.0.1", *, listen: bool = True
    ) -> None:
        self.access = access
        self.address = address
        self.listen = listen
        self._listeners: dict[tuple[str, int], _Listener] = {}
        self._lock = threading.Lock()
        self._kubeconfig_dir: str | None = None
        self._kubeconfig_file: str | None = None
        self._kubectl = ""
        _OPEN.add(self)

    def _kubeconfig(self) -> str | None:
        """The access's kubeconfig document in a private file (mode 600), removed on close."""
        if not self.access.kubeconfig:
            return None
        if self._kubeconfig_file is None:
            self._kubeconfig_dir = tempfile.mkdtemp(prefix="appstack-kubeconfig-")
            path = os.path.join(self._kubeconfig_dir, "config")
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(self.access.kubeconfig)
            self._kubeconfig_file = path
        return self._kubeconfig_file

    def forward(self, service: str, port: int) -> tuple[str, int]:
        """`(address, port)` here, passed through to `service:port` in the namespace."""
        key = (service, port)
        with self._lock:
            if self.listen and key not in self._listeners:
                if not self._kubectl:
                    self._kubectl = kubectl_executable(self.access)
                what = f"service/{service}:{port} in namespace {self.access.namespace}"
                argv = port_forward_argv(
                    self._kubectl, self.access, self._kubeconfig(), service, port
                )
                self._listeners[key] = _Listener(
                    self.address, port, functools.partial(_Kubectl, argv, what), what
                )
        return self.address, port

    def close(self) -> None:
        _OPEN.discard(self)
        with self._lock:
            listeners, self._listeners = list(self._listeners.values()), {}
            for listener in listeners:
                listener.close()
            if self._kubeconfig_dir is not None:
                shutil.rmtree(self._kubeconfig_dir, ignore_errors=True)
                self._kubeconfig_dir = self._kubeconfig_file = None

    def __enter__(self) -> PortForward:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def cluster_port_forward(cluster: KubernetesSettings, *, listen: bool = True) -> PortForward:
    """A stack's port-forward to its namespace, reaching the cluster as its provider does."""
    return PortForward(
        ClusterAccess(
            namespace=cluster.namespace, kubeconfig=cluster.kubeconfig, context=cluster.context
        ),
        cluster.connect_address,
        listen=listen,
    )


_OPEN: weakref.WeakSet[PortForward] = weakref.WeakSet()


@atexit.register
def close_all() -> None:
    """Close every PortForward of this process still open (also at interpreter exit)."""
    for forward in list(_OPEN):
        forward.close()
