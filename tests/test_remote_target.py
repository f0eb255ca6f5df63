"""A stack deployed to a remote Docker host (issue 13): the `docker` settings, the explicit
provider every Docker resource uses, the connect address, the migration runner's environment,
and the preflight's one message per fault. All under mocks or with a fake `ssh`: no host."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from appstack import migrate
from appstack.contract import BUCKET, COMMAND, CONTAINER, PGVECTOR_EXTENSION
from appstack.docker_target import DockerTarget, parse_ssh_host, runner_environment
from appstack.preflight import PreflightError, check_environment, check_ssh_host, preflight
from appstack.settings import SettingsError, parse_settings
from appstack.tunnel import Tunnel, TunnelError, forwards, loopback_problem, tunnel_argv
from tests.realservers.process import free_port
from tests.stacks import run_stack, stack_config

SSH_HOST = "ssh://deploy@mini.lan:2222"
REMOTE = {
    "host": SSH_HOST,
    "sshOpts": ["-i", "/home/me/.ssh/deploy", "-o", "UserKnownHostsFile=/home/me/kh"],
    "connectAddress": "mini.lan",
}
KEY = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n"
TLS = {
    "host": "tcp://10.0.0.5:2376",
    "tlsCaCert": "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n",
    "tlsCert": "-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n",
    "tlsKey": KEY,
    "connectAddress": "10.0.0.5",
}


def ci(docker: dict[str, Any]) -> dict[str, Any]:
    values = copy.deepcopy(stack_config("ci"))
    values["docker"] = docker
    return values


def problems(docker: dict[str, Any], secret: bool = False) -> str:
    with pytest.raises(SettingsError) as raised:
        parse_settings("ci", ci(docker), frozenset({"docker"}) if secret else frozenset())
    return str(raised.value)


# --- settings ------------------------------------------------------------------------------------


def test_the_default_target_is_the_local_socket_reached_on_the_bind_address() -> None:
    settings = parse_settings("ci", stack_config("ci"))
    assert settings.docker.target == DockerTarget("unix:///var/run/docker.sock")
    assert settings.docker.target.is_local
    assert settings.docker.connect_address == "127.0.0.1"


def test_an_ssh_host_with_options_and_a_connect_address_is_accepted() -> None:
    settings = parse_settings("ci", ci(REMOTE))
    assert settings.docker.target.host == SSH_HOST
    assert settings.docker.target.ssh_opts == tuple(REMOTE["sshOpts"])
    assert settings.docker.connect_address == "mini.lan"
    assert parse_ssh_host(SSH_HOST) == parse_ssh_host("ssh://deploy@mini.lan:2222/")
    assert parse_ssh_host(SSH_HOST).ssh_argv(["-q"], "true") == [
        "ssh", "-q", "-l", "deploy", "-p", "2222", "--", "mini.lan", "true",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("docker", "expected"),
    [
        ({"host": "http://mini.lan:2375"}, "docker.host: expected unix:///<socket path>"),
        ({"host": "unix://relative.sock"}, "an absolute socket path"),
        ({"host": "ssh://mini.lan:0", "connectAddress": "x"}, "a port from 1 to 65535"),
        ({"host": "ssh://mini.lan/path", "connectAddress": "x"}, "no path, query or fragment"),
        ({"host": "ssh://bad user@mini.lan"}, "docker.host"),
        ({"host": "tcp://10.0.0.5", "connectAddress": "x"}, "tcp:// needs a host and a port"),
        ({"host": 42}, "docker.host"),
        ({"host": SSH_HOST}, "docker.connectAddress: expected the address this machine reaches"),
        ({**REMOTE, "connectAddress": "0.0.0.0"}, "not 0.0.0.0"),
        ({**REMOTE, "connectAddress": "mini lan"}, "a host name or one interface's IPv4"),
        ({**REMOTE, "sshOpts": "-i key"}, "docker.sshOpts: expected a list"),
        ({**REMOTE, "sshOpts": ["-i", ""]}, "docker.sshOpts: expected a list"),
        ({"sshOpts": ["-i", "key"]}, "ssh options apply to an ssh:// host only"),
        ({**REMOTE, "tunel": True}, "docker.tunel: expected one of the keys"),
        ({**REMOTE, "tunnel": "yes"}, "docker.tunnel: expected true or false"),
        ({"tunnel": True}, "docker.tunnel: expected false: a tunnel needs an ssh:// host"),
        ({**REMOTE, "tunnel": True}, "docker.connectAddress: expected a loopback address"),
        ("ssh://mini.lan", "docker: expected an object"),
    ],
)
def test_each_bad_docker_setting_is_named_with_what_was_expected(
    docker: Any, expected: str
) -> None:
    assert expected in problems(docker)


def test_a_password_in_the_host_url_is_refused_without_being_printed() -> None:
    message = problems({"host": "ssh://deploy:hunter2secret@mini.lan", "connectAddress": "x"})
    assert "no password in the URL" in message
    assert "hunter2secret" not in message and "ssh://deploy:***@mini.lan" in message


def test_a_tcp_host_needs_all_tls_material_and_a_secret_key() -> None:
    settings = parse_settings("ci", ci(TLS), frozenset({"docker"}))
    assert settings.docker.target.uses_tls and settings.docker.target.tls_key == KEY
    assert KEY not in repr(settings)
    plain = problems(TLS)
    assert "docker.tlsKey: expected a Pulumi secret" in plain
    assert "c2VjcmV0" not in plain  # the key material itself is never quoted
    missing = problems({**TLS, "tlsCaCert": "", "tlsKey": ""}, secret=True)
    assert "docker.tlsCaCert: expected PEM text" in missing
    assert "docker.tlsKey: expected PEM text" in missing


def test_tls_material_for_a_host_that_is_not_tcp_is_refused_unquoted() -> None:
    message = problems({**REMOTE, "tlsKey": KEY}, secret=True)
    assert "TLS material applies to a tcp:// host only" in message and "c2VjcmV0" not in message


# --- the graph -----------------------------------------------------------------------------------


def test_a_remote_stack_sends_every_docker_resource_through_its_one_explicit_provider() -> None:
    run = run_stack("ci", ci(REMOTE))
    providers = run.by_type("pulumi:providers:docker")
    assert len(providers) == 1
    provider = providers[0]
    assert provider.inputs["host"] == SSH_HOST
    # Provider configuration reaches the engine as strings, lists JSON-encoded.
    assert json.loads(provider.inputs["sshOpts"]) == REMOTE["sshOpts"]
    docker_resources = [r for r in run.resources if r.custom and r.type.startswith("docker:")]
    assert {r.type for r in docker_resources} >= {
        CONTAINER,
        "docker:index/remoteImage:RemoteImage",
        "docker:index/volume:Volume",
    }
    for resource in docker_resources:
        assert resource.provider.startswith(f"{provider.urn}::"), resource.name


def test_a_remote_stack_reaches_its_services_on_the_connect_address_and_binds_on_the_host() -> None:
    run = run_stack("ci", ci(REMOTE))
    (check,) = run.by_type(PGVECTOR_EXTENSION)
    assert check.inputs["host"] == "mini.lan"
    assert run.outputs["database"]["host"] == "mini.lan"
    assert run.outputs["cache"]["host"] == "mini.lan"
    assert run.outputs["objectStore"]["endpoint"] == "mini.lan:29000"
    assert run.outputs["backend"]["url"] == "http://mini.lan:28000"
    database = run.named("appstack-database-container")
    assert "listen_addresses=127.0.0.1" in database.inputs["command"]  # bound on the host itself
    buckets = run.by_type(BUCKET)
    assert buckets and all(b.inputs["endpoint"] == "mini.lan:29000" for b in buckets)


def test_the_migration_runs_on_the_remote_engine_with_the_users_ssh_options() -> None:
    run = run_stack("ci", ci(REMOTE))
    (step,) = run.by_type(COMMAND)
    environment = step.inputs["environment"]
    assert environment["DOCKER_HOST"] == SSH_HOST
    assert environment["APPSTACK_DOCKER_SSH_OPTS"].split("\x1f") == REMOTE["sshOpts"]


def test_a_tls_stack_keeps_its_key_secret_in_the_provider_and_the_migration_step() -> None:
    from appstack.graph import run_program
    from tests.stacks import PROGRAM

    config = {f"appstack:{key}": value for key, value in ci(TLS).items()}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "pulumi.runtime.config.is_config_secret", lambda key: key == "appstack:docker"
        )
        run = run_program(PROGRAM, "ci", config)
    (provider,) = run.by_type("pulumi:providers:docker")
    assert provider.inputs["keyMaterial"] == KEY and "keyMaterial" in provider.secret_inputs
    (step,) = run.by_type(COMMAND)
    assert "environment" in step.secret_inputs
    assert runner_environment(DockerTarget()) == {}


# --- the migration runner's docker CLI -----------------------------------------------------------


def test_the_runner_gives_the_docker_cli_an_ssh_with_the_users_options(tmp_path: Path) -> None:
    fake_ssh = tmp_path / "bin" / "ssh"
    fake_ssh.parent.mkdir()
    fake_ssh.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    fake_ssh.chmod(0o755)
    environ = {
        "PATH": f"{fake_ssh.parent}:/usr/bin:/bin",
        "APPSTACK_DOCKER_SSH_OPTS": "\x1f".join(["-i", "/k ey", "-o", "BatchMode=yes"]),
        "APPSTACK_DOCKER_TLS_KEY": KEY,
    }
    with migrate.docker_client_environment(environ) as env:
        done = subprocess.run(
            ["ssh", "-p", "22", "host"], env=env, capture_output=True, text=True, check=True
        )
        cert_path = Path(env["DOCKER_CERT_PATH"])
        assert (cert_path / "key.pem").read_text() == KEY
        assert (cert_path / "key.pem").stat().st_mode & 0o077 == 0
        assert "APPSTACK_DOCKER_TLS_KEY" not in env
    assert done.stdout.splitlines() == ["-i", "/k ey", "-o", "BatchMode=yes", "-p", "22", "host"]
    assert not cert_path.exists(), "the private directory is removed afterwards"


# --- preflight -----------------------------------------------------------------------------------


def fake(returncode: int, stdout: str = "", stderr: str = "") -> Any:
    calls: list[Sequence[str]] = []

    def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        calls.append(list(argv))
        return subprocess.CompletedProcess(list(argv), returncode, stdout, stderr)

    run.calls = calls  # type: ignore[attr-defined]
    return run


TARGET = DockerTarget(host=SSH_HOST, ssh_opts=("-i", "/home/me/.ssh/deploy"))


def test_preflight_runs_ssh_strictly_first_then_the_users_options_and_reads_the_api() -> None:
    run = fake(0, "1.41\n")
    assert check_ssh_host(TARGET, run) == "1.41"
    (argv,) = run.calls
    assert argv[:7] == [
        "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10",
    ]  # fmt: skip
    assert argv[7:] == [
        "-i", "/home/me/.ssh/deploy", "-l", "deploy", "-p", "2222", "--", "mini.lan",
        "docker version --format '{{.Server.APIVersion}}'",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("returncode", "stdout", "stderr", "expected"),
    [
        (255, "", "ssh: connect to host mini.lan port 2222: Connection refused", "unreachable"),
        (255, "", "ssh: Could not resolve hostname mini.lan: Name", "unreachable"),
        (255, "", "deploy@mini.lan: Permission denied (publickey).", "refused the SSH key"),
        (255, "", "@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @", "host key does not"),
        (255, "", "No ED25519 host key is known for [mini.lan]:2222\nHost key verification failed.",
         "host key does not match"),
        (127, "", "bash: docker: command not found", "has no `docker` command"),
        (1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.", "no engine"),
        (0, "1.40\n", "", "speaks API 1.40, older than the 1.41"),
    ],
)  # fmt: skip
def test_each_preflight_fault_is_one_message_naming_the_host_and_what_to_do(
    returncode: int, stdout: str, stderr: str, expected: str
) -> None:
    with pytest.raises(PreflightError) as raised:
        check_ssh_host(TARGET, fake(returncode, stdout, stderr))
    message = str(raised.value)
    assert message.startswith(f"cannot deploy to the Docker host {SSH_HOST}: ")
    assert expected in message and message.endswith("Nothing was changed.")


@pytest.fixture
def under_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """As the program runs under the engine (the mock tests leave the mock monitor installed)."""
    monkeypatch.setattr("appstack.preflight.under_mocks", lambda: False)


@pytest.mark.usefixtures("under_the_engine")
def test_preflight_contacts_nothing_for_a_local_engine() -> None:
    run = fake(255, "", "Connection refused")
    preflight(DockerTarget(), run, environ={"DOCKER_HOST": "tcp://elsewhere:2375"})
    assert run.calls == []
    with pytest.raises(PreflightError, match="unreachable"):
        preflight(TARGET, run, environ={})
    assert len(run.calls) == 1


def test_preflight_contacts_nothing_under_mocks() -> None:
    # The mock graph (make check, these tests) never reaches a host: the remote stacks above ran.
    run_stack("ci", ci(REMOTE))


@pytest.mark.usefixtures("under_the_engine")
@pytest.mark.parametrize("target", [DockerTarget(), TARGET])
def test_a_docker_context_in_the_environment_is_refused(target: DockerTarget) -> None:
    """The provider would follow DOCKER_CONTEXT instead of the stack's host."""
    run = fake(0, "1.41\n")
    with pytest.raises(PreflightError, match="DOCKER_CONTEXT=mini is set here"):
        preflight(target, run, environ={"DOCKER_CONTEXT": "mini"})
    assert run.calls == []
    preflight(DockerTarget(), run, environ={"DOCKER_CONTEXT": "default"})


def test_a_tcp_host_refuses_a_docker_host_or_cert_path_the_provider_would_follow() -> None:
    """pulumi-docker applies DOCKER_HOST/DOCKER_CERT_PATH after the host for a TLS client."""
    tls = DockerTarget(host="tcp://10.0.0.5:2376", tls_ca_cert="ca", tls_cert="c", tls_key="k")
    with pytest.raises(PreflightError, match=r"DOCKER_HOST=unix:///var/run/docker\.sock is set"):
        check_environment(tls, {"DOCKER_HOST": "unix:///var/run/docker.sock"})
    with pytest.raises(PreflightError, match="DOCKER_CERT_PATH is set here"):
        check_environment(tls, {"DOCKER_CERT_PATH": "/home/me/.docker"})
    check_environment(tls, {"DOCKER_HOST": "tcp://10.0.0.5:2376", "DOCKER_CERT_PATH": ""})
    # ssh and unix hosts win over the environment in the provider: nothing to refuse there.
    check_environment(TARGET, {"DOCKER_HOST": "unix:///x", "DOCKER_CERT_PATH": "/c"})


# --- tunnel mode ---------------------------------------------------------------------------------


def test_tunnel_mode_reaches_every_service_port_through_loopback_forwards() -> None:
    settings = parse_settings("ci", ci({"host": SSH_HOST, "sshOpts": ["-i", "/k"], "tunnel": True}))
    docker = settings.docker
    assert docker.tunnel and docker.connect_address == "127.0.0.1"
    wanted = forwards(docker.connect_address, "127.0.0.1", settings.host_ports.values())
    argv = tunnel_argv(docker.target, wanted)
    assert argv[:11] == [
        "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
        "-o", "ExitOnForwardFailure=yes", "-o", "ServerAliveInterval=15", "-o", "ConnectTimeout=10",
    ]  # fmt: skip
    assert argv[11:14] == ["-i", "/k", "-N"]
    specs = [argv[i + 1] for i, item in enumerate(argv) if item == "-L"]
    assert specs == [f"127.0.0.1:{p}:127.0.0.1:{p}" for p in (25432, 26379, 28000, 29000, 29001)]
    assert argv[-6:] == ["-l", "deploy", "-p", "2222", "--", "mini.lan"]
    run = run_stack("ci", ci({"host": SSH_HOST, "tunnel": True, "connectAddress": "127.0.0.2"}))
    assert run.outputs["database"]["host"] == "127.0.0.2"  # the forward, not the remote host
    (check,) = run.by_type(PGVECTOR_EXTENSION)
    assert check.inputs["host"] == "127.0.0.2"


@pytest.mark.parametrize("address", ["127.0.0.1", "127.1.2.3"])
def test_the_tunnel_listens_on_loopback_only(address: str) -> None:
    assert loopback_problem(address) is None
    for bad in ("10.0.0.1", "0.0.0.0", "127.0.0", "127.0.0.01", "localhost", 7):
        assert loopback_problem(bad), bad


def test_a_tunnel_that_cannot_open_says_why(tmp_path: Path) -> None:
    """ssh exits at once (an unknown option here): the error names the host, never a key."""
    target = DockerTarget(host="ssh://deploy@127.0.0.1:1", ssh_opts=("-o", "NoSuchOption=1"))
    with pytest.raises(TunnelError, match=r"cannot open the SSH tunnel to ssh://deploy@127\.0"):
        Tunnel(target, forwards("127.0.0.1", "127.0.0.1", [free_port()]))


# --- the components as a library: a provider through ordinary resource options --------------------


@pytest.mark.parametrize("option", ["providers", "provider"])
def test_a_component_hands_a_provider_given_in_its_options_to_every_docker_child(
    option: str,
) -> None:
    import pulumi
    import pulumi_docker

    from appstack.common import NetworkAttachment
    from appstack.database import Database, DatabaseArgs
    from appstack.graph import record

    def program() -> None:
        engine = pulumi_docker.Provider("mini", host=SSH_HOST)
        given = {"providers": [engine]} if option == "providers" else {"provider": engine}
        Database(
            "orders",
            DatabaseArgs(network=NetworkAttachment.host("127.0.0.1")),
            pulumi.ResourceOptions(**given),  # type: ignore[arg-type]
        )

    run = record(program, "dev")
    (provider,) = run.by_type("pulumi:providers:docker")
    children = [r for r in run.resources if r.type.startswith("docker:")]
    assert {r.type for r in children} == {
        CONTAINER,
        "docker:index/remoteImage:RemoteImage",
        "docker:index/volume:Volume",
    }
    for child in children:
        assert child.provider.startswith(f"{provider.urn}::"), child.name
    for other in run.resources:
        if other.custom and not other.type.startswith(("docker:", "pulumi:providers:")):
            assert other.provider == "", other.name  # random, pgvector: their own providers
