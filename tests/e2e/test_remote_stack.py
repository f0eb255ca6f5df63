"""A stack deployed to a "remote" Docker host over SSH, under the real engine (issue 13).

The test starts its own `sshd` (Debian's openssh-server) on a free loopback port, as root so the
SSH user can use the Docker engine, with a host key and a client key generated into a temporary
directory, `AuthorizedKeysFile` pointing there, and stops it by its PID. The stack `remote`
(containers `remote-*`, ports 44xxx, distinct from the `ci` stack's 2xxxx) has
`docker.host: ssh://root@127.0.0.1:<port>` with `sshOpts` naming the key and a known_hosts file;
the deploying process's own `DOCKER_HOST` points at a socket where no engine is, so every Docker
call (the provider, the image pulls, the migration job) must go through SSH. Then: `up` reaches
healthy, `verify` passes through the connect address, a no-op preview shows no change, and a
refused key, a host key that does not match and an unreachable port each stop the update before
any resource changes, with a message naming the host and what to do. Last, an existing local
stack switching from the default docker provider to the explicit local one replaces nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.platform import (
    DeployedStack,
    containers_of,
    docker,
    http_status,
    inspect,
    new_stack,
)
from tests.engine.harness import REPO_ROOT, new_project
from tests.realservers.process import free_port, stop_process

pytestmark = [pytest.mark.real, pytest.mark.e2e]

STACK = "remote"
ROLES = ("database", "cache", "objectstore", "backend")
CONTAINERS = [f"{STACK}-{role}" for role in ROLES]
SSHD = Path("/usr/sbin/sshd")
NO_ENGINE = "unix:///nonexistent/appstack-remote-test/docker.sock"
"""The deploying process's DOCKER_HOST: nothing answers there, so only SSH reaches the engine."""
STACK_CONFIG: dict[str, Any] = {
    "appstack:network": {"mode": "host", "bindAddress": "127.0.0.1"},
    "appstack:database": {"image": "pgvector/pgvector:pg18-appstack", "port": 44432},
    "appstack:cache": {"image": "appstack/redis:7-bookworm", "port": 44379},
    "appstack:objectStore": {
        "image": "appstack/minio:DEVELOPMENT.2026-02-12T20-18-48Z",
        "port": 44900,
        "consolePort": 44901,
    },
    "appstack:backend": {"image": "appstack/backend:ci", "port": 44800},
}


@dataclass
class Sshd:
    """The test's sshd: its port, and the keys and known_hosts files it was set up with."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    client_key: Path
    other_key: Path
    known_hosts: Path
    wrong_known_hosts: Path
    log: Path

    @property
    def host(self) -> str:
        return f"ssh://root@127.0.0.1:{self.port}"

    def ssh_opts(self, key: Path | None = None, known_hosts: Path | None = None) -> list[str]:
        """Options that use only the test's files (no ssh config, agent or other identity)."""
        return [
            "-F", "/dev/null",
            "-i", str(key or self.client_key),
            "-o", "IdentitiesOnly=yes",
            "-o", "IdentityAgent=none",
            "-o", f"UserKnownHostsFile={known_hosts or self.known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null",
        ]  # fmt: skip

    def accepted_logins(self) -> int:
        return self.log.read_text(errors="replace").count("Accepted publickey for root")


def _keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "appstack-e2e", "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return path.with_suffix(".pub").read_text().strip()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"sshd exited ({process.returncode}): {log.read_text()}", pytrace=False)
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"sshd did not listen on 127.0.0.1:{port}: {log.read_text()}", pytrace=False)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """sshd on a free loopback port, root login by the generated key only; stopped by PID."""
    if not SSHD.is_file():
        pytest.fail(f"{SSHD} is missing: install openssh-server (scripts/install-system.sh)")
    if os.geteuid() != 0:
        pytest.fail("the remote-host test runs sshd as root (so docker works through it)")
    directory = tmp_path_factory.mktemp("sshd")
    directory.chmod(0o700)
    host_key_line = _keygen(directory / "host_key")
    other_host_key_line = _keygen(directory / "other_host_key")
    (directory / "authorized_keys").write_text(_keygen(directory / "client_key") + "\n")
    _keygen(directory / "other_key")  # a key the server does not know
    port = free_port()
    host_type_key = " ".join(host_key_line.split()[:2])
    (directory / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_type_key}\n")
    other_type_key = " ".join(other_host_key_line.split()[:2])
    (directory / "wrong_known_hosts").write_text(f"[127.0.0.1]:{port} {other_type_key}\n")
    log = directory / "sshd.log"
    options = {
        "ListenAddress": f"127.0.0.1:{port}",
        "HostKey": str(directory / "host_key"),
        "AuthorizedKeysFile": str(directory / "authorized_keys"),
        "PidFile": "none",
        "PermitRootLogin": "prohibit-password",
        "PubkeyAuthentication": "yes",
        "PasswordAuthentication": "no",
        "KbdInteractiveAuthentication": "no",
        "UsePAM": "no",
        "StrictModes": "no",
        "AllowUsers": "root",
        "AllowTcpForwarding": "local",  # the tunnel mode's -L forwards
        "X11Forwarding": "no",
        "LogLevel": "VERBOSE",
    }
    argv = [str(SSHD), "-D", "-f", "/dev/null", "-E", str(log)]
    for key, value in options.items():
        argv += ["-o", f"{key}={value}"]
    # sshd needs its privilege-separation directory; Debian's service creates it at start.
    privsep = Path("/run/sshd")
    made_privsep = not privsep.exists()
    if made_privsep:
        privsep.mkdir(mode=0o755)
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    try:
        _wait_for_port(port, process, log)
        yield Sshd(
            port=port,
            directory=directory,
            process=process,
            client_key=directory / "client_key",
            other_key=directory / "other_key",
            known_hosts=directory / "known_hosts",
            wrong_known_hosts=directory / "wrong_known_hosts",
            log=log,
        )
    finally:
        stop_process(process)
        if made_privsep:
            shutil.rmtree(privsep, ignore_errors=True)


def set_docker(stack: DeployedStack, settings: dict[str, Any]) -> None:
    """Replace the stack's `appstack:docker` in its stack file (this CLI has no `config set
    --json`), keeping everything else the file holds."""
    path = stack.directory / f"Pulumi.{stack.stack}.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["appstack:docker"] = settings
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def docker_config(sshd: Sshd, **changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "host": sshd.host,
        "sshOpts": sshd.ssh_opts(),
        "connectAddress": "127.0.0.1",
    }
    config.update(changes)
    return config


@pytest.fixture(scope="module")
def remote(sshd: Sshd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedStack]:
    """The `remote` stack of a copy of the project; torn down (over SSH) before sshd stops."""
    config = {**STACK_CONFIG, "appstack:docker": docker_config(sshd)}
    stack = new_stack(tmp_path_factory.mktemp("e2e-remote"), STACK, config)
    stack.project.env["DOCKER_HOST"] = NO_ENGINE
    try:
        yield stack
    finally:
        set_docker(stack, docker_config(sshd))
        stack.tear_down()


def container_ids() -> dict[str, str | None]:
    return {name: (info or {}).get("Id") for name, info in ((n, inspect(n)) for n in CONTAINERS)}


# --- deploy over SSH -------------------------------------------------------------------------


def test_up_over_ssh_reaches_a_healthy_platform(remote: DeployedStack, sshd: Sshd) -> None:
    before = sshd.accepted_logins()
    run = remote.up()
    assert containers_of(STACK) == sorted(CONTAINERS), run.output
    remote.wait_healthy(CONTAINERS)
    outputs = remote.outputs()
    assert outputs["migration"]["revision"] == "0001"  # the job ran on the engine over SSH
    assert outputs["database"]["host"] == "127.0.0.1"
    assert http_status(f"{outputs['backend']['url']}{outputs['backend']['healthPath']}") == 200
    # Every Docker call went through the test's sshd (the process's DOCKER_HOST has no engine).
    assert sshd.accepted_logins() > before
    providers = [r for r in remote.resources() if r["type"] == "pulumi:providers:docker"]
    assert [p["inputs"]["host"] for p in providers] == [sshd.host]
    for resource in remote.resources():
        if resource["type"].startswith("docker:index/"):
            assert resource["provider"].startswith(providers[0]["urn"]), resource["urn"]


def test_verify_passes_through_the_connect_address(remote: DeployedStack) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "delivery", "verify", "--stack", STACK, "--cwd",
         str(remote.directory)],
        cwd=REPO_ROOT, env=remote.project.env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout, done.stdout
    for check in ("database", "schema", "redis", "health", "bucket temp", "cors"):
        assert check in done.stdout, f"verify did not run {check}:\n{done.stdout}"


def test_a_no_op_preview_over_ssh_shows_no_change(remote: DeployedStack) -> None:
    remote.pulumi("preview", "--expect-no-changes", timeout=300)


# --- faults stop before any resource changes ---------------------------------------------------


def _fails_before_anything_changes(
    remote: DeployedStack, sshd: Sshd, docker_settings: dict[str, Any], expected: str
) -> str:
    before = container_ids()
    set_docker(remote, docker_settings)
    try:
        run = remote.up(ok=False)
    finally:
        set_docker(remote, docker_config(sshd))
    host = docker_settings["host"]
    assert f"cannot deploy to the Docker host {host}: " in run.output, run.output
    assert expected in run.output, run.output
    assert "Nothing was changed." in run.output
    for key in (sshd.client_key, sshd.other_key):
        assert key.read_text().splitlines()[1] not in run.output, "a private key was printed"
    assert container_ids() == before, "a container changed"
    remote.pulumi("preview", "--expect-no-changes", timeout=300)
    return run.output


def test_a_refused_key_stops_before_any_change(remote: DeployedStack, sshd: Sshd) -> None:
    settings = docker_config(sshd, sshOpts=sshd.ssh_opts(key=sshd.other_key))
    _fails_before_anything_changes(remote, sshd, settings, "the host refused the SSH key")


def test_a_host_key_mismatch_stops_before_any_change(remote: DeployedStack, sshd: Sshd) -> None:
    settings = docker_config(sshd, sshOpts=sshd.ssh_opts(known_hosts=sshd.wrong_known_hosts))
    _fails_before_anything_changes(remote, sshd, settings, "host key does not match")


def test_an_unreachable_host_stops_before_any_change(remote: DeployedStack, sshd: Sshd) -> None:
    settings = docker_config(sshd, host=f"ssh://root@127.0.0.1:{free_port()}")
    _fails_before_anything_changes(remote, sshd, settings, "the host is unreachable over SSH")


# --- tunnel mode: services on the remote loopback, reached through SSH forwards -----------------

TUNNEL_STACK = "remotetun"
TUNNEL_ADDRESS = "127.0.0.2"
"""Where the forwards listen: the "remote" host is this machine, its services on 127.0.0.1."""
TUNNEL_CONFIG: dict[str, Any] = {
    "appstack:network": {"mode": "host", "bindAddress": "127.0.0.1"},
    "appstack:database": {"image": "pgvector/pgvector:pg18-appstack", "port": 44532},
    "appstack:cache": {"image": "appstack/redis:7-bookworm", "port": 44479},
    "appstack:objectStore": {
        "image": "appstack/minio:DEVELOPMENT.2026-02-12T20-18-48Z",
        "port": 44910,
        "consolePort": 44911,
    },
    "appstack:backend": {"image": "appstack/backend:ci", "port": 44810},
}


def _forward_listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((TUNNEL_ADDRESS, port)) == 0


def test_tunnel_mode_deploys_verifies_and_closes_its_forwards(
    sshd: Sshd, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The pgvector check and the buckets reach the services only through the program's
    tunnel (they listen on 127.0.0.1, the tunnel on 127.0.0.2); it is closed after `up`."""
    docker_settings = {
        "host": sshd.host,
        "sshOpts": sshd.ssh_opts(),
        "tunnel": True,
        "connectAddress": TUNNEL_ADDRESS,
    }
    config = {**TUNNEL_CONFIG, "appstack:docker": docker_settings}
    stack = new_stack(tmp_path_factory.mktemp("e2e-tunnel"), TUNNEL_STACK, config)
    stack.project.env["DOCKER_HOST"] = NO_ENGINE
    ports = (44532, 44479, 44910, 44911, 44810)
    try:
        assert not any(_forward_listening(port) for port in ports)
        stack.up()
        stack.wait_healthy([f"{TUNNEL_STACK}-{role}" for role in ROLES])
        outputs = stack.outputs()
        assert outputs["database"]["host"] == TUNNEL_ADDRESS
        assert outputs["database"]["pgvectorVersion"]
        assert sorted(outputs["objectStore"]["buckets"]) == ["assets", "backups", "temp"]
        assert not any(_forward_listening(port) for port in ports), "the tunnel outlived `up`"
        done = subprocess.run(
            [sys.executable, "-m", "delivery", "verify", "--stack", TUNNEL_STACK, "--cwd",
             str(stack.directory)],
            cwd=REPO_ROOT, env=stack.project.env, capture_output=True, text=True, timeout=300,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0 and "FAIL" not in done.stdout, done.stdout + done.stderr
        assert not any(_forward_listening(port) for port in ports), "verify left its tunnel"
        stack.pulumi("preview", "--expect-no-changes", timeout=300)
        # destroy runs the program too, so the bucket provider reaches MinIO through the tunnel.
        stack.pulumi("destroy", "--yes", "--run-program", timeout=600)
        assert containers_of(TUNNEL_STACK) == []
    finally:
        stack.tear_down()


# --- existing local stacks: default provider -> explicit local provider ------------------------

VOLUME = "remote-provider-switch-data"
DEFAULT_PROGRAM = f"""
import pulumi_docker as docker
docker.Volume("data", name="{VOLUME}")
"""
EXPLICIT_PROGRAM = f"""
import pulumi
import pulumi_docker as docker
from appstack.docker_target import DockerTarget, provider
local = provider("appstack-docker", DockerTarget())
docker.Volume("data", name="{VOLUME}", opts=pulumi.ResourceOptions(provider=local))
"""


def test_switching_to_the_explicit_local_provider_replaces_nothing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """What upgrading an existing local stack does to each Docker resource, under the engine."""
    project = new_project(tmp_path_factory.mktemp("provider-switch"), "switch", DEFAULT_PROGRAM)
    project.require_engine()
    project.env.pop("DOCKER_HOST", None)
    project.run("stack", "init", "switch")
    try:
        project.run("up", "--yes", "--stack", "switch")
        volume_before = docker("volume", "inspect", "--format", "{{.CreatedAt}}", VOLUME)
        (project.directory / "__main__.py").write_text(EXPLICIT_PROGRAM)
        preview = project.run("preview", "--json", "--stack", "switch").output
        steps = json.loads(preview[preview.index("{") :]).get("steps", [])
        ops = {step["urn"].rsplit("::", 1)[1]: step["op"] for step in steps}
        # The one change is the new provider; the volume's step is `same` (left out of the JSON
        # like every unchanged resource's): no update, no replacement.
        changed = {name: op for name, op in ops.items() if op != "same"}
        assert changed == {"appstack-docker": "create"}, ops
        project.run("up", "--yes", "--stack", "switch")
        state = project.state("switch")["checkpoint"]["latest"]["resources"]
        (volume,) = [r for r in state if r["type"] == "docker:index/volume:Volume"]
        assert "::appstack-docker::" in volume["provider"]
        assert docker("volume", "inspect", "--format", "{{.CreatedAt}}", VOLUME) == volume_before
        project.run("preview", "--expect-no-changes", "--stack", "switch")
    finally:
        project.run("destroy", "--yes", "--stack", "switch", ok=None)
        docker("volume", "rm", "--force", VOLUME, check=False)
