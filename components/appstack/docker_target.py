"""The Docker engine a stack deploys to: local, over SSH, or over TCP with TLS.

`DockerTarget` is what a program hands the components: `provider` turns it into the one explicit
`pulumi_docker.Provider` every Docker resource of the stack is created with (pass it with
`pulumi.ResourceOptions(providers=[...])`; children inherit it), and `runner_environment` into the
environment the migration runner's `docker` CLI needs to reach the same engine. The host is part
of the stack, so a preview on another laptop (whatever its `DOCKER_HOST`) shows the same plan.

Local is `unix:///var/run/docker.sock`, the value the docker provider uses when it is given none:
an existing stack that switches from the default provider to this explicit one sees its
provider reference change, which the engine asks the provider about (`DiffConfig`), and no
replacement.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pulumi
import pulumi_docker as docker

from appstack.defaults import section
from appstack.migrate import SSH_OPTS_SEPARATOR
from appstack.validation import bind_address_problem

LOCAL_HOST: str = section("docker")["host"]
"""The local engine's socket, the docker provider's own default."""
MINIMUM_API_VERSION = (1, 41)
"""The oldest engine API appstack's containers work with (Debian 12's Docker 20.10)."""
SCHEMES = ("unix", "ssh", "tcp")

_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
# A DNS name whose last label starts with a letter (so `999.1.1.1` is not taken for a name).
_DNS_NAME = re.compile(
    r"(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)
_UNIX_PATH = re.compile(r"/[^\s\x00]*")


@dataclass(frozen=True)
class SshHost:
    """The parts of an `ssh://[user@]host[:port]` Docker host."""

    user: str | None
    host: str
    port: int | None

    def ssh_argv(self, ssh_opts: Sequence[str], *command: str) -> list[str]:
        """`ssh` as Docker's connection helper runs it: `ssh [opts] [-l user] [-p port] -- host`."""
        argv = ["ssh", *ssh_opts]
        if self.user:
            argv += ["-l", self.user]
        if self.port:
            argv += ["-p", str(self.port)]
        return [*argv, "--", self.host, *command]


def shown_host(host: object) -> str:
    """A Docker host as it may be printed: any password in it replaced by `***`."""
    if not isinstance(host, str):
        return repr(host)
    return re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", host)


def hostname_problem(value: object) -> str | None:
    """Why `value` is not a host name or IPv4 address a client can connect to, or None."""
    if isinstance(value, str) and _DNS_NAME.fullmatch(value):
        return None
    if bind_address_problem(value) is None:
        return None
    return "a host name or one interface's IPv4 address (not 0.0.0.0)"


def parse_ssh_host(host: str) -> SshHost:
    """The user, host and port of an `ssh://` Docker host; ValueError saying what is wrong."""
    parts = urlsplit(host)
    if parts.scheme != "ssh":
        raise ValueError("not an ssh:// host")
    if parts.password is not None:
        raise ValueError("no password in the URL (use a key: sshOpts ['-i', '<key file>'])")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("no path, query or fragment after the host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("a port from 1 to 65535") from None
    if port is not None and not 0 < port < 65536:
        raise ValueError("a port from 1 to 65535")
    if parts.username is not None and not _USER.fullmatch(parts.username):
        raise ValueError("a user name of letters, digits, '_', '.' and '-'")
    if hostname_problem(parts.hostname):
        raise ValueError("a host name or IPv4 address after ssh://")
    return SshHost(user=parts.username, host=str(parts.hostname), port=port)


def host_problem(host: object) -> str | None:
    """Why `host` is not a Docker host appstack deploys to, or None."""
    expected = "unix:///<socket path>, ssh://[user@]host[:port] or tcp://host:port"
    if not isinstance(host, str):
        return expected
    scheme, _, rest = host.partition("://")
    if scheme == "unix":
        return None if _UNIX_PATH.fullmatch(rest) else f"{expected} (an absolute socket path)"
    if scheme == "ssh":
        try:
            parse_ssh_host(host)
        except ValueError as error:
            return f"{expected} ({error})"
        return None
    if scheme == "tcp":
        parts = urlsplit(host)
        try:
            port = parts.port
        except ValueError:
            port = None
        if (
            port is None
            or not 0 < port < 65536
            or hostname_problem(parts.hostname)
            or parts.username
            or parts.path not in ("", "/")
        ):
            return f"{expected} (tcp:// needs a host and a port, e.g. tcp://10.0.0.5:2376)"
        return None
    return expected


@dataclass(frozen=True)
class DockerTarget:
    """The Docker engine to deploy to, and how to reach it.

    `tls_*` are PEM text for a `tcp://` host (the key is handed to the provider as a secret);
    `ssh_opts` go to the `ssh` client for an `ssh://` host (the provider's `ssh_opts`, and the
    migration runner's ssh).
    """

    host: str = LOCAL_HOST
    ssh_opts: tuple[str, ...] = ()
    tls_ca_cert: str = ""
    tls_cert: str = ""
    tls_key: str = field(default="", repr=False)

    @property
    def scheme(self) -> str:
        return self.host.partition("://")[0]

    @property
    def is_local(self) -> bool:
        """True for a Unix socket on the deploying machine."""
        return self.scheme == "unix"

    @property
    def uses_tls(self) -> bool:
        return self.scheme == "tcp"


def provider(
    name: str, target: DockerTarget, opts: pulumi.ResourceOptions | None = None
) -> docker.Provider:
    """The stack's one Docker provider for `target` (TLS key as a secret, never in plain state)."""
    tls: dict[str, pulumi.Input[str]] = {}
    if target.uses_tls:
        tls = {
            "ca_material": target.tls_ca_cert,
            "cert_material": target.tls_cert,
            "key_material": pulumi.Output.secret(target.tls_key),
        }
    return docker.Provider(
        name,
        host=target.host,
        ssh_opts=list(target.ssh_opts) or None,
        opts=opts,
        **tls,  # type: ignore[arg-type]
    )


def runner_environment(target: DockerTarget | None) -> dict[str, pulumi.Input[str]]:
    """The environment the migration runner needs for `target` (empty for the local engine, so
    an existing stack's migration step is unchanged)."""
    if target is None or target.is_local:
        return {}
    environment: dict[str, pulumi.Input[str]] = {"DOCKER_HOST": target.host}
    if target.ssh_opts:
        environment["APPSTACK_DOCKER_SSH_OPTS"] = SSH_OPTS_SEPARATOR.join(target.ssh_opts)
    if target.uses_tls:
        environment["APPSTACK_DOCKER_TLS_CA"] = target.tls_ca_cert
        environment["APPSTACK_DOCKER_TLS_CERT"] = target.tls_cert
        environment["APPSTACK_DOCKER_TLS_KEY"] = pulumi.Output.secret(target.tls_key)
    return environment
