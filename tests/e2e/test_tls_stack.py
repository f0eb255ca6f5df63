"""A stack deployed to a Docker host over `tcp://` with TLS, under the real engine.

The test makes its own TLS endpoint: a CA, a server certificate for IP 127.0.0.1 and client
certificates generated with `openssl` into a temporary directory (tests/realservers/tls.py), and
`socat` (Debian's package) listening on a free loopback port with that server certificate,
requiring a client certificate signed by the CA, and forwarding to the local engine's socket; it
is stopped by its PID. The stack `tls` (containers `tls-*`, free loopback ports) has
`docker.host: tcp://127.0.0.1:<port>`, the CA and client certificate in its config and the
client key as a Pulumi secret. Then: `up` reaches healthy with every Docker call (the provider,
the image pulls, the migration job) counted through socat, a no-op preview shows no change, and
a client certificate from another CA, and a `DOCKER_HOST` in the deploying environment (which
pulumi-docker would follow instead of docker.host for a TLS host), each stop the update before
any resource changes with a message naming the host and no key material printed; `destroy`
removes every container.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.platform import DeployedStack, containers_of, http_status, inspect, new_stack
from tests.realservers.process import free_port, stop_process
from tests.realservers.tls import make_tls_material

pytestmark = [pytest.mark.real, pytest.mark.e2e]

STACK = "tls"
ROLES = ("database", "cache", "objectstore", "backend")
CONTAINERS = [f"{STACK}-{role}" for role in ROLES]
SOCAT = Path("/usr/bin/socat")
ENGINE_SOCKET = Path("/var/run/docker.sock")
HALF_CLOSE = "900"
NO_ENGINE = "unix:///nonexistent/appstack-tls-test/docker.sock"
"""A DOCKER_HOST the preflight must refuse (the provider would connect there, not to the host)."""


@dataclass
class TlsEndpoint:
    """The test's TLS front to the engine: its port and the PEM files it was set up with."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def host(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def pem(self, name: str) -> str:
        return (self.directory / name).read_text()

    def connections(self) -> int:
        """Connections socat accepted so far (its -d -d log)."""
        return (
            (self.directory / "socat.log").read_text(errors="replace").count("accepting connection")
        )


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsEndpoint]:
    """socat on a free loopback port: TLS with the test's server cert, client certs required
    (signed by the test's CA), forwarding to the engine's socket; stopped by PID."""
    if not SOCAT.is_file():
        pytest.fail(f"{SOCAT} is missing: install socat (scripts/install-system.sh)")
    if not ENGINE_SOCKET.is_socket():
        pytest.fail(f"no engine socket at {ENGINE_SOCKET}: bash scripts/dockerd.sh start")
    directory = make_tls_material(tmp_path_factory.mktemp("tls"))
    port = free_port()
    log = directory / "socat.log"
    listen = (
        f"OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert=server.pem,key=server.key,"
        "cafile=ca.pem,verify=1"
    )
    with log.open("wb") as output:
        process = subprocess.Popen(
            # -t: after one side's EOF, keep the other direction open for up to HALF_CLOSE
            # seconds (socat's default, 0.5s, cuts `docker run`'s output: the CLI half-closes
            # the attach connection when it sends no stdin, as dockerd's own TLS listener allows).
            [str(SOCAT), "-d", "-d", "-t", HALF_CLOSE, listen, f"UNIX-CONNECT:{ENGINE_SOCKET}"],
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its forked children in a group of their own
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"socat exited ({process.returncode}): {log.read_text()}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"socat did not listen on 127.0.0.1:{port}: {log.read_text()}")
            time.sleep(0.1)
        yield TlsEndpoint(port=port, directory=directory, process=process)
    finally:
        stop_process(process)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # connections it forked, still in their -t


def set_client(stack: DeployedStack, endpoint: TlsEndpoint, name: str) -> None:
    """Give the stack the client certificate `name` (the key as a secret, through stdin)."""
    path = stack.directory / f"Pulumi.{stack.stack}.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["appstack:docker"]["tlsCert"] = endpoint.pem(f"{name}.pem")
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    stack.project.run(
        "config", "set", "--stack", stack.stack, "--secret", "--path", "appstack:docker.tlsKey",
        stdin=endpoint.pem(f"{name}.key"),
    )  # fmt: skip


@pytest.fixture(scope="module")
def deployed(
    endpoint: TlsEndpoint, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DeployedStack]:
    """The `tls` stack of a copy of the project; torn down (through TLS) before socat stops."""
    config: dict[str, Any] = {
        "appstack:network": {"mode": "host", "bindAddress": "127.0.0.1"},
        "appstack:database": {"image": "pgvector/pgvector:pg18-appstack", "port": free_port()},
        "appstack:cache": {"image": "appstack/redis:7-bookworm", "port": free_port()},
        "appstack:objectStore": {
            "image": "appstack/minio:DEVELOPMENT.2026-02-12T20-18-48Z",
            "port": free_port(),
            "consolePort": free_port(),
        },
        "appstack:backend": {"image": "appstack/backend:ci", "port": free_port()},
        "appstack:docker": {
            "host": endpoint.host,
            "connectAddress": "127.0.0.1",
            "tlsCaCert": endpoint.pem("ca.pem"),
        },
    }
    stack = new_stack(tmp_path_factory.mktemp("e2e-tls"), STACK, config)
    stack.project.env.pop("DOCKER_HOST", None)
    stack.project.env.pop("DOCKER_CERT_PATH", None)
    set_client(stack, endpoint, "client")
    try:
        yield stack
    finally:
        set_client(stack, endpoint, "client")
        stack.tear_down()


def container_ids() -> dict[str, str | None]:
    return {name: (info or {}).get("Id") for name, info in ((n, inspect(n)) for n in CONTAINERS)}


def test_up_over_tls_reaches_a_healthy_platform(
    deployed: DeployedStack, endpoint: TlsEndpoint
) -> None:
    before = endpoint.connections()
    run = deployed.up()
    assert containers_of(STACK) == sorted(CONTAINERS), run.output
    deployed.wait_healthy(CONTAINERS)
    outputs = deployed.outputs()
    assert outputs["migration"]["revision"] == "0001"  # the job ran on the engine over TLS
    assert http_status(f"{outputs['backend']['url']}{outputs['backend']['healthPath']}") == 200
    providers = [r for r in deployed.resources() if r["type"] == "pulumi:providers:docker"]
    assert [p["inputs"]["host"] for p in providers] == [endpoint.host]
    # The pulls, containers and the migration job all went through the TLS front.
    assert endpoint.connections() - before >= 10, endpoint.connections() - before
    assert endpoint.pem("client.key") not in deployed.export(), "the key is in plain state"
    for resource in deployed.resources():
        if resource["type"].startswith("docker:index/"):
            assert resource["provider"].startswith(providers[0]["urn"]), resource["urn"]
    deployed.pulumi("preview", "--expect-no-changes", timeout=300)


def _fails_before_anything_changes(
    deployed: DeployedStack, endpoint: TlsEndpoint, expected: str
) -> None:
    before = container_ids()
    run = deployed.up(ok=False)
    assert f"cannot deploy to the Docker host {endpoint.host}: " in run.output, run.output
    assert expected in run.output, run.output
    assert "Nothing was changed." in run.output
    for name in ("client.key", "other-client.key", "ca.key", "other-ca.key"):
        body = endpoint.pem(name).splitlines()[1]
        assert body not in run.output, f"{name} was printed"
    assert container_ids() == before, "a container changed"


def test_a_client_cert_of_another_ca_stops_before_any_change(
    deployed: DeployedStack, endpoint: TlsEndpoint
) -> None:
    set_client(deployed, endpoint, "other-client")
    try:
        _fails_before_anything_changes(
            deployed, endpoint, "the host refused this machine's client certificate"
        )
    finally:
        set_client(deployed, endpoint, "client")
    deployed.pulumi("preview", "--expect-no-changes", timeout=300)


def test_a_docker_host_in_the_environment_stops_before_any_change(
    deployed: DeployedStack, endpoint: TlsEndpoint
) -> None:
    """pulumi-docker's TLS client takes DOCKER_HOST over docker.host: the preflight refuses it."""
    deployed.project.env["DOCKER_HOST"] = NO_ENGINE
    try:
        _fails_before_anything_changes(deployed, endpoint, f"DOCKER_HOST={NO_ENGINE} is set here")
    finally:
        del deployed.project.env["DOCKER_HOST"]
    assert containers_of(STACK) == sorted(CONTAINERS)


def test_destroy_over_tls_removes_everything(deployed: DeployedStack) -> None:
    deployed.pulumi("destroy", "--yes", timeout=600)
    assert containers_of(STACK) == []
