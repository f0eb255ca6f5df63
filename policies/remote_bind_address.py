"""Remote bind address (mandatory in prod, advisory elsewhere; high).

Why: a stack deployed to another machine (the team's always-on server, over SSH or TCP) puts
PostgreSQL, Redis and MinIO on a host that other machines of the network can reach. A service
published on, or listening with host networking on, 0.0.0.0 there is open to every one of them;
on the deploying machine's own engine the same mistake exposes far less. appstack binds to
`network.bindAddress` (loopback by default) and its settings refuse 0.0.0.0, so this guards
programs built from the components by hand and any container added beside them.

Rule: a Docker container whose explicit provider's ``host`` is not a local ``unix://`` socket
must not publish a port without an ``ip`` or on ``0.0.0.0``/``::``, and with host networking its
command, entrypoint and environment must not name ``0.0.0.0``. (On a bridge network a service
listens on 0.0.0.0 inside its own network namespace: that is not the host's interfaces.)
Allowed explicitly with the policy config ``allowAllInterfaces: true``. Two pack policies share
the rule: ``remote-bind-address`` is mandatory in production environments,
``remote-bind-address-advisory`` reports the same elsewhere without blocking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from appstack.contract import CONTAINER
from policies.model import PolicyContext, PolicySpec, Resource, Violation

SPEC = PolicySpec(
    name="remote-bind-address",
    description="On a remote Docker host, no service listens on every interface (production).",
    mandatory=True,
    severity="high",
)
ADVISORY_SPEC = PolicySpec(
    name="remote-bind-address-advisory",
    description="On a remote Docker host, no service listens on every interface.",
    mandatory=False,
    severity="medium",
)

ALL_INTERFACES = ("0.0.0.0", "::", "[::]")


def remote_host(resource: Resource) -> str | None:
    """The Docker host of the resource's provider when it is not a local socket, else None."""
    host = resource.provider_props.get("host")
    if not isinstance(host, str) or not host or host.startswith("unix://"):
        return None
    return host


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence):
        return [item for item in value if isinstance(item, str)]
    return []


def exposures(resource: Resource) -> list[str]:
    """How a container reaches every interface of its host, in words; empty when it does not."""
    found: list[str] = []
    ports = resource.props.get("ports")
    for port in ports if isinstance(ports, Sequence) and not isinstance(ports, str) else []:
        if not isinstance(port, Mapping):
            continue
        ip = port.get("ip")
        if ip in (None, "", *ALL_INTERFACES):
            shown = "every interface" if ip in (None, "") else ip
            found.append(f"publishes port {port.get('external')} on {shown}")
    if resource.props.get("networkMode") == "host":
        for key in ("command", "entrypoints", "envs"):
            for item in _strings(resource.props.get(key)):
                if "0.0.0.0" in item:
                    found.append(f"listens on 0.0.0.0 with host networking ({key}: {item!r})")
    return found


def _check(resource: Resource, ctx: PolicyContext, spec: PolicySpec) -> list[Violation]:
    if resource.type != CONTAINER or ctx.config.allow_all_interfaces:
        return []
    host = remote_host(resource)
    if host is None:
        return []
    return [
        spec.violation(
            resource,
            f"{resource.name} runs on the remote Docker host {host} and {problem}: every machine "
            "that reaches the host reaches the service. Bind it to one address "
            "(network.bindAddress), or allow it explicitly with the policy config "
            "allowAllInterfaces: true.",
        )
        for problem in exposures(resource)
    ]


def check(resource: Resource, ctx: PolicyContext) -> list[Violation]:
    """Mandatory: the rule in production environments."""
    return _check(resource, ctx, SPEC) if ctx.is_production(resource) else []


def check_advisory(resource: Resource, ctx: PolicyContext) -> list[Violation]:
    """Advisory: the rule everywhere else."""
    return [] if ctx.is_production(resource) else _check(resource, ctx, ADVISORY_SPEC)
