"""Preflight: before any resource changes, check that a remote Docker host can be deployed to.

The program runs this at preview and up, before it declares a resource. For an `ssh://` host it
runs the `ssh` client once, as Docker's connection helper will (the user's `sshOpts`, and
`BatchMode=yes` and `StrictHostKeyChecking=yes` first, so neither a prompt nor an unknown host
key can slip through), with the remote `docker version` as its command. Each fault gets one
message that names the host and says what to do: the host unreachable, the key refused, the host
key unknown or changed, no docker CLI or engine there, an engine older than API 1.41. Messages
never quote a credential: they name the host (any password in it masked) and the problem.

For a `tcp://` host it connects with TLS as the docker provider will (the stack's CA, client
certificate and key, written for the check to a private temporary directory removed right after)
and asks the engine's `/version`: the host unreachable, its certificate not signed by
`tlsCaCert` or not for that address, the client certificate refused, no engine answering, an
engine older than API 1.41 each get one message.

Whatever the target, a `DOCKER_CONTEXT` in the environment is refused: the docker provider would
follow it instead of the stack's host. For a `tcp://` host a `DOCKER_HOST` naming another engine
and a `DOCKER_CERT_PATH` are refused too: with TLS material the provider lets them override the
stack's host and certificates. Under the mock monitor (`make check`, the tests) nothing
is checked or contacted.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import pulumi

from appstack.docker_target import MINIMUM_API_VERSION, DockerTarget, parse_ssh_host, shown_host
from appstack.tunnel import Tunnel, forwards

CONNECT_TIMEOUT_SECONDS = 10
CHECK_TIMEOUT_SECONDS = 60
ENFORCED_SSH_OPTIONS = (
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    f"ConnectTimeout={CONNECT_TIMEOUT_SECONDS}",
)
"""Given before the user's options: ssh keeps the first value of each option."""
_VERSION_COMMAND = "docker version --format '{{.Server.APIVersion}}'"
_API_VERSION = re.compile(r"([0-9]+)\.([0-9]+)")

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


class PreflightError(pulumi.RunError):
    """The Docker host cannot be deployed to; the message says why and what to do."""

    def __init__(self, host: str, problem: str) -> None:
        super().__init__(
            f"cannot deploy to the Docker host {shown_host(host)}: {problem} Nothing was changed."
        )


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_SECONDS,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError:
        return subprocess.CompletedProcess(list(argv), 127, "", "ssh: command not found")
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(list(argv), 255, "", "preflight: timed out")


def ssh_fault(stderr: str) -> str:
    """What an `ssh` failure (exit status 255) means and what to do about it."""
    if "command not found" in stderr and stderr.startswith("ssh"):
        return "the ssh client is not installed on this machine (install openssh-client)."
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr or "Host key verification failed" in (
        stderr
    ):
        return (
            "its SSH host key does not match the known_hosts entry, or it has none there. "
            "Check the host's key fingerprint out of band, then add it to the known_hosts file "
            "that docker.sshOpts names (UserKnownHostsFile) or ~/.ssh/known_hosts."
        )
    if "Permission denied" in stderr or "Too many authentication failures" in stderr:
        return (
            "the host refused the SSH key. Give the key with docker.sshOpts (-i <key file>) and "
            "make sure its public key is in the remote user's authorized_keys."
        )
    if "timed out" in stderr:
        return (
            "it did not answer within the timeout. Check the address and port in docker.host and "
            "that this machine can reach it."
        )
    for reason in (
        "Connection refused",
        "No route to host",
        "Network is unreachable",
        "Could not resolve hostname",
        "Name or service not known",
        "Connection reset",
        "Connection closed",
    ):
        if reason in stderr:
            return (
                f"the host is unreachable over SSH ({reason}). Check the address and port in "
                "docker.host, that sshd runs there and that this machine can reach it."
            )
    last = stderr.strip().splitlines()[-1:] or ["no message"]
    return f"ssh failed ({last[0][:200]}). Check docker.host and docker.sshOpts."


def check_ssh_host(target: DockerTarget, run: Runner = _run) -> str:
    """Check an `ssh://` Docker host; its engine's API version, or PreflightError."""
    ssh = parse_ssh_host(target.host)
    argv = ssh.ssh_argv([*ENFORCED_SSH_OPTIONS, *target.ssh_opts], _VERSION_COMMAND)
    done = run(argv)
    if done.returncode == 255:
        raise PreflightError(target.host, ssh_fault(done.stderr))
    if done.returncode == 127:
        raise PreflightError(
            target.host,
            "the remote user has no `docker` command: Docker reaches the engine over SSH "
            "through the remote docker CLI (docker system dial-stdio). Install the docker CLI "
            "there or connect as a user who has it.",
        )
    version = done.stdout.strip()
    if done.returncode != 0 or not _API_VERSION.fullmatch(version):
        detail = (done.stderr.strip().splitlines()[-1:] or ["no message"])[0][:200]
        raise PreflightError(
            target.host,
            f"the remote `docker version` found no engine ({detail}). Start the Docker engine "
            "there and make sure the SSH user may use it (root or the docker group).",
        )
    return _check_api_version(target.host, version)


def _check_api_version(host: str, version: str) -> str:
    major, minor = (int(part) for part in version.split("."))
    if (major, minor) < MINIMUM_API_VERSION:
        wanted = ".".join(str(part) for part in MINIMUM_API_VERSION)
        raise PreflightError(
            host,
            f"its Docker engine speaks API {version}, older than the {wanted} appstack needs "
            "(Docker 20.10 or newer). Upgrade the engine there.",
        )
    return version


def tls_version(target: DockerTarget, timeout: float = CONNECT_TIMEOUT_SECONDS) -> str:
    """GET /version of a `tcp://` engine over TLS with the stack's material; the API version,
    or PreflightError. The PEM text is written to a private temporary directory for `ssl`
    (which reads files only) and removed before this returns."""
    parts = urlsplit(target.host)
    address, port = str(parts.hostname), int(parts.port or 0)
    with tempfile.TemporaryDirectory(prefix="appstack-tls-") as private:
        files = {"ca": target.tls_ca_cert, "cert": target.tls_cert, "key": target.tls_key}
        paths = {}
        for name, text in files.items():
            path = Path(private) / f"{name}.pem"
            path.touch(mode=0o600)
            path.write_text(text)
            paths[name] = str(path)
        try:
            context = ssl.create_default_context(cafile=paths["ca"])
            context.load_cert_chain(paths["cert"], paths["key"])
        except (ssl.SSLError, ValueError):
            raise PreflightError(
                target.host,
                "its TLS material does not load: docker.tlsCaCert must be a CA certificate and "
                "docker.tlsCert/tlsKey a client certificate and its (unencrypted) key that "
                "belong together.",
            ) from None
        connection = http.client.HTTPSConnection(address, port, context=context, timeout=timeout)
        try:
            connection.request("GET", "/version")
            response = connection.getresponse()
            body = response.read(65536)
            status = response.status
        except ssl.SSLCertVerificationError as error:
            raise PreflightError(
                target.host,
                f"its server certificate is not trusted ({error.verify_message}): it must be "
                "signed by docker.tlsCaCert and name the address in docker.host.",
            ) from None
        except ssl.SSLError as error:
            raise PreflightError(
                target.host,
                f"the TLS handshake failed: the host refused this machine's client certificate "
                f"({error.reason or 'no reason given'}). Give docker.tlsCert/tlsKey a client "
                "certificate signed by the CA the engine trusts (its --tlscacert).",
            ) from None
        except TimeoutError:
            raise PreflightError(
                target.host,
                "it did not answer within the timeout. Check the address and port in "
                "docker.host and that this machine can reach it.",
            ) from None
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise PreflightError(
                target.host,
                f"the host is unreachable ({reason}). Check the address and port in docker.host "
                "and that the engine listens there with TLS (dockerd --tlsverify -H tcp://...).",
            ) from None
        except http.client.HTTPException as error:
            raise PreflightError(
                target.host,
                f"no Docker engine answered over TLS ({type(error).__name__}). Check the port "
                "in docker.host.",
            ) from None
        finally:
            connection.close()
    try:
        version = str(json.loads(body)["ApiVersion"])
    except (ValueError, KeyError, TypeError):
        version = ""
    if status != 200 or not _API_VERSION.fullmatch(version):
        raise PreflightError(
            target.host,
            f"no Docker engine answered over TLS (HTTP {status} to /version). Check the port in "
            "docker.host and that the Docker engine runs there.",
        )
    return _check_api_version(target.host, version)


def under_mocks() -> bool:
    """True when the program runs under the SDK's mock monitor, not the engine."""
    from pulumi.runtime import mocks, settings

    return isinstance(settings.get_monitor(), mocks.MockMonitor)


def open_tunnel(
    target: DockerTarget, connect_address: str, bind_address: str, ports: Iterable[int]
) -> Tunnel | None:
    """The SSH tunnel of a stack in tunnel mode, open until `close()` or the program's exit
    (None under mocks). Call it after `preflight`, which has checked the host and its key."""
    if under_mocks():
        return None
    return Tunnel(target, forwards(connect_address, bind_address, ports))


def check_environment(target: DockerTarget, environ: Mapping[str, str]) -> None:
    """Refuse a `DOCKER_CONTEXT` in the deploying environment: the docker provider would use that
    context instead of `docker.host`, and the plan would depend on who deploys."""
    context = environ.get("DOCKER_CONTEXT", "")
    if context not in ("", "default"):
        raise PreflightError(
            target.host,
            f"DOCKER_CONTEXT={context} is set here, and the docker provider would use that "
            "context instead of docker.host. Unset DOCKER_CONTEXT (the stack names its engine).",
        )
    if not target.uses_tls:
        return
    # pulumi-docker 5.x builds its TLS client with the host first and the environment after
    # (client.FromEnv), so for a tcp+TLS host the deployer's DOCKER_HOST or DOCKER_CERT_PATH
    # would silently replace docker.host or the stack's certificates (found by
    # tests/e2e/test_tls_stack.py). Its ssh and unix clients apply the host last.
    docker_host = environ.get("DOCKER_HOST", "")
    if docker_host not in ("", target.host):
        raise PreflightError(
            target.host,
            f"DOCKER_HOST={shown_host(docker_host)} is set here, and for a tcp:// host with TLS "
            "the docker provider would connect there instead of docker.host. Unset DOCKER_HOST "
            "(the stack names its engine).",
        )
    if environ.get("DOCKER_CERT_PATH", ""):
        raise PreflightError(
            target.host,
            "DOCKER_CERT_PATH is set here, and for a tcp:// host with TLS the docker provider "
            "would use the certificates there instead of docker.tlsCaCert/tlsCert/tlsKey. Unset "
            "DOCKER_CERT_PATH.",
        )


def preflight(
    target: DockerTarget, run: Runner = _run, environ: Mapping[str, str] | None = None
) -> None:
    """Check the stack's Docker host before anything is declared (little to do locally)."""
    if under_mocks():
        return
    check_environment(target, os.environ if environ is None else environ)
    if target.scheme == "ssh":
        check_ssh_host(target, run)
    elif target.uses_tls:
        tls_version(target)
