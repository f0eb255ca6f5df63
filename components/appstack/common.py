"""What the container components share: their common Args, labels, health checks and networking.

Every container appstack runs is built from the same few pieces so that the policies can rely on
them: the `appstack.*` labels (role, environment, and the plain image reference the user gave,
which stays known during a preview when the image id is not), an explicit health check with
canonical durations (anything else shows a diff on every preview), and a wait until healthy.

Docker names come from the instance: a container is `{environment}-{name}` unless its Args name
it, its volume `{container}-data`, its network alias the container name; two components in one
program therefore never share a container, a volume or an alias. (`Platform` passes the names
appstack's stacks have always had, `{environment}-{role}`.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast

import pulumi
import pulumi_docker as docker
import pulumi_random as random

from appstack.contract import ENVIRONMENT_LABEL, IMAGE_LABEL, ROLE_LABEL, STATEFUL_LABEL
from appstack.defaults import section
from appstack.docker_target import hostname_problem
from appstack.validation import DOCKER_NAME, ENVIRONMENT, NETWORK_ALIAS, ArgsError, Problems

T = TypeVar("T")

_HEALTH = section("health")
_NETWORK = section("network")
_DATA = section("data")


def secret(value: pulumi.Output[T]) -> pulumi.Output[T]:
    """`pulumi.Output.secret` keeping the value's type (the SDK's annotation loses it)."""
    secret_of: Any = pulumi.Output.secret
    return cast("pulumi.Output[T]", secret_of(value))


def text(value: pulumi.Input[Any]) -> pulumi.Output[str]:
    """A value (a port, say) as text, for building URLs and command lines."""
    return pulumi.Output.from_input(value).apply(str)


# --- Args shared by the container components ---------------------------------------------------


@dataclass(frozen=True)
class NetworkAttachment:
    """How a container is attached: host networking, or one named bridge network.

    Build it with `NetworkAttachment.host(...)` or `NetworkAttachment.bridge(network, ...)`, or take
    `Network.attachment`. There is no separate mode: a bridge attachment is one that names its
    network, so a bridge without a network cannot be expressed (`bridge(None)` is refused).

    With host networking each service listens on its own port of `bind_address`; on a bridge
    network it listens on its standard port inside the network (other containers reach it by its
    container name) and Docker publishes it on `bind_address:port` only, never on 0.0.0.0.
    `bind_address` is plain: it is checked to be an IPv4 address before anything listens on it.
    """

    bind_address: str = _NETWORK["bindAddress"]
    """The host address services listen on (host networking) or are published on (bridge)."""
    bridge_network: pulumi.Input[str] | None = None
    """The Docker network to join; None means host networking."""
    connect_address: str | None = None
    """Where the deploying machine reaches the services (the pgvector check, the buckets, the
    outputs), when that is not `bind_address`: a remote Docker host's name or address."""

    @classmethod
    def host(cls, bind_address: str = _NETWORK["bindAddress"]) -> NetworkAttachment:
        """Host networking: each service on its own port of `bind_address`."""
        return cls(bind_address=bind_address)

    @classmethod
    def bridge(
        cls, network: pulumi.Input[str] | None, bind_address: str = _NETWORK["bindAddress"]
    ) -> NetworkAttachment:
        """The bridge network `network` (its name, or `Network.network_name`)."""
        if network is None or network == "":
            raise ArgsError(
                "NetworkAttachment.bridge",
                [
                    f"network: expected the name of a Docker network (a bridge attachment without "
                    f"a network cannot be deployed; use NetworkAttachment.host() for host "
                    f"networking), got {network!r}"
                ],
            )
        return cls(bind_address=bind_address, bridge_network=network)

    @property
    def mode(self) -> Literal["host", "bridge"]:
        return "host" if self.bridge_network is None else "bridge"


@dataclass(frozen=True)
class HealthCheck:
    """Health check timings of a container, and how long a deployment waits for it to be healthy.

    Plain values, checked before anything runs: Docker rewrites a duration it does not print the
    same way (`1m` becomes `1m0s`), and every preview would then show a diff.
    """

    interval: str = _HEALTH["interval"]
    """Time between checks, a canonical Go duration ("2s", "1m0s")."""
    timeout: str = _HEALTH["timeout"]
    """How long one check may take."""
    start_period: str = _HEALTH["startPeriod"]
    """Grace period after start during which failures do not count."""
    retries: int = _HEALTH["retries"]
    """Failed checks in a row before the container is unhealthy."""
    wait_timeout_seconds: int = _HEALTH["waitTimeoutSeconds"]
    """How long a deployment waits for the container to become healthy."""


@dataclass(kw_only=True)
class ContainerArgs:
    """What every container component takes besides its own settings."""

    network: NetworkAttachment
    """How the container is attached (see `NetworkAttachment`)."""
    environment: str | None = None
    """The environment: the `appstack.environment` label and the prefix of default names.

    Default: the stack name. Plain: the policies read the label at preview.
    """
    container_name: str | None = None
    """The Docker container name. Default `{environment}-{name}`, `name` being the component's."""
    network_alias: str | None = None
    """The container's alias on a bridge network. Default: the container name."""
    health: HealthCheck = field(default_factory=HealthCheck)
    """Health check timings and the deployment's wait."""


@dataclass(kw_only=True)
class StatefulContainerArgs(ContainerArgs):
    """A container whose data lives in a named volume, protected where the environment says so."""

    volume_name: str | None = None
    """The Docker volume holding the data. Default `{container_name}-data`."""
    protect_data: bool = _DATA["protect"]
    """Protect the data volume (and buckets): a delete or replacement fails until unprotected.

    Plain, as every resource option: the engine decides with it before anything is known.
    """
    retain_data_on_delete: bool = _DATA["retainOnDelete"]
    """Keep the volume (and buckets) in Docker/MinIO when removed from the stack."""


@dataclass(frozen=True)
class Identity:
    """The names one container component instance uses, resolved from its Args and its name."""

    environment: str
    container_name: str
    network_alias: str
    volume_name: str


def identify(name: str, args: ContainerArgs, problems: Problems) -> Identity:
    """Resolve and check the names of a container component `name`; problems go to `problems`."""
    if not isinstance(args.network, NetworkAttachment):
        problems.bad(
            "network",
            "a NetworkAttachment (NetworkAttachment.host(), NetworkAttachment.bridge(name) or "
            "Network.attachment)",
            args.network,
        )
    else:
        problems.ipv4("network.bind_address", args.network.bind_address)
        if args.network.connect_address is not None:
            reason = hostname_problem(args.network.connect_address)
            if reason:
                problems.bad("network.connect_address", reason, args.network.connect_address)
    environment = args.environment or pulumi.get_stack()
    problems.matches(
        "environment",
        environment,
        ENVIRONMENT,
        "1-20 lower-case letters, digits and inner dashes (it prefixes Docker and bucket names)",
    )
    container = args.container_name or f"{environment}-{name}"
    problems.matches(
        "container_name",
        container,
        DOCKER_NAME,
        "a Docker container name (letters, digits, '_', '.', '-'; set container_name when the "
        "default `{environment}-{name}` is not one)",
    )
    # Names derived from a bad container name are not reported a second time.
    derived_ok = bool(DOCKER_NAME.match(container))
    alias = args.network_alias or container
    if args.network_alias or derived_ok:
        problems.matches("network_alias", alias, NETWORK_ALIAS, "a host name for the network")
    explicit_volume = getattr(args, "volume_name", None)
    volume = explicit_volume or f"{container}-data"
    if explicit_volume or derived_ok:
        problems.matches("volume_name", volume, DOCKER_NAME, "a Docker volume name")
    health = args.health
    if not isinstance(health, HealthCheck):
        problems.bad("health", "a HealthCheck", health)
    else:
        problems.duration("health.interval", health.interval)
        problems.duration("health.timeout", health.timeout)
        problems.duration("health.start_period", health.start_period, zero_means="no start period")
        problems.integer("health.retries", health.retries, 1, 1000)
        problems.integer("health.wait_timeout_seconds", health.wait_timeout_seconds, 10, 3600)
    if isinstance(args, StatefulContainerArgs):
        problems.flag("protect_data", args.protect_data)
        problems.flag("retain_data_on_delete", args.retain_data_on_delete)
    return Identity(environment, container, alias, volume)


# --- resources ---------------------------------------------------------------------------------


def labels(environment: str, role: str, image: str) -> list[docker.ContainerLabelArgs]:
    """The appstack labels of a container (the volume variant is `volume_labels`)."""
    pairs = {ROLE_LABEL: role, ENVIRONMENT_LABEL: environment, IMAGE_LABEL: image}
    return [docker.ContainerLabelArgs(label=key, value=value) for key, value in pairs.items()]


def volume_labels(environment: str, role: str) -> list[docker.VolumeLabelArgs]:
    """Labels marking a volume as stateful data of one environment and role."""
    return [
        docker.VolumeLabelArgs(label=ROLE_LABEL, value=role),
        docker.VolumeLabelArgs(label=ENVIRONMENT_LABEL, value=environment),
        docker.VolumeLabelArgs(label=STATEFUL_LABEL, value="true"),
    ]


def healthcheck(
    health: HealthCheck, test: Sequence[pulumi.Input[str]]
) -> docker.ContainerHealthcheckArgs:
    """A health check with the given timings.

    No `start_interval`: Docker engines before API 1.44 (Debian 12's 20.10 among them) refuse a
    container that sets it, and a short `interval` gives the same quick first check everywhere.
    """
    return docker.ContainerHealthcheckArgs(
        tests=list(test),
        interval=health.interval,
        timeout=health.timeout,
        start_period=health.start_period,
        retries=health.retries,
    )


@dataclass(frozen=True)
class Placement:
    """Where one service listens: its port inside its network namespace and the host address.

    With host networking the service listens directly on its configured port; on a bridge
    network it listens on its standard port inside the network and Docker publishes it on
    `host_address:host_port`. `internal_host` is how other containers reach it and
    `listen_address` the address the service binds (never all interfaces of the host).
    """

    internal_host: str
    internal_port: pulumi.Input[int]
    host_address: str
    host_port: pulumi.Input[int]
    listen_address: str

    @property
    def host_endpoint(self) -> pulumi.Output[str]:
        """`host:port` as the deploying machine reaches the service."""
        return pulumi.Output.concat(self.host_address, ":", text(self.host_port))

    @property
    def internal_endpoint(self) -> pulumi.Output[str]:
        """`host:port` as other containers reach the service."""
        return pulumi.Output.concat(self.internal_host, ":", text(self.internal_port))


def placement(
    network: NetworkAttachment,
    container_name: str,
    standard_port: int,
    host_port: pulumi.Input[int],
) -> Placement:
    """The placement of a service given how its container is attached."""
    address = network.bind_address
    reached = network.connect_address or address
    if network.mode == "host":
        return Placement(address, host_port, reached, host_port, listen_address=address)
    return Placement(container_name, standard_port, reached, host_port, listen_address="0.0.0.0")


@dataclass(frozen=True)
class Attachment:
    """Container arguments that attach it to its network and publish its ports."""

    network_mode: str | None
    networks_advanced: list[docker.ContainerNetworksAdvancedArgs] | None
    ports: list[docker.ContainerPortArgs] | None


def network_args(
    network: NetworkAttachment,
    alias: str,
    published: Sequence[tuple[int, pulumi.Input[int]]],
) -> Attachment:
    """How a container joins its network and which ports it publishes.

    `published` is a list of (container port, host port) pairs, bound to the bind address only
    (never 0.0.0.0). With host networking there is nothing to publish, and pulumi-docker would
    drop published ports and show a diff on every preview.
    """
    if network.bridge_network is None:
        return Attachment(network_mode="host", networks_advanced=None, ports=None)
    return Attachment(
        network_mode=None,
        networks_advanced=[
            docker.ContainerNetworksAdvancedArgs(name=network.bridge_network, aliases=[alias])
        ],
        ports=[
            docker.ContainerPortArgs(internal=internal, external=external, ip=network.bind_address)
            for internal, external in published
        ],
    )


def data_options(args: StatefulContainerArgs, parent: pulumi.Resource) -> pulumi.ResourceOptions:
    """Options for stateful resources: protected and kept on delete where the Args say so."""
    return pulumi.ResourceOptions(
        parent=parent, protect=args.protect_data, retain_on_delete=args.retain_data_on_delete
    )


def data_volume(
    name: str, ident: Identity, role: str, args: StatefulContainerArgs, parent: pulumi.Resource
) -> docker.Volume:
    """The named volume holding a component's data, labelled stateful."""
    return docker.Volume(
        name,
        name=ident.volume_name,
        labels=volume_labels(ident.environment, role),
        opts=data_options(args, parent),
    )


def child_dependencies(
    parent: pulumi.Resource, opts: pulumi.ResourceOptions | None
) -> pulumi.ResourceOptions:
    """Options for a component's main child: its parent, and the component's own `depends_on`.

    A component's `depends_on` orders the component, not the children it creates; passing it on
    makes the child (a migration run, a container) wait for what the component was told to.
    """
    return pulumi.ResourceOptions(parent=parent, depends_on=opts.depends_on if opts else None)


def remote_image(name: str, reference: str, parent: pulumi.Resource) -> docker.RemoteImage:
    """A pinned image reference, used locally when present; kept locally on destroy.

    `keep_locally` matters for images built on this machine: deleting them on a replacement
    would make the next `up` try to pull an image that exists in no registry.
    """
    return docker.RemoteImage(
        name,
        name=reference,
        keep_locally=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def generated_secret(name: str, length: int, parent: pulumi.Resource) -> random.RandomPassword:
    """A generated credential (letters and digits only, so it is safe inside URLs)."""
    return random.RandomPassword(
        name, length=length, special=False, opts=pulumi.ResourceOptions(parent=parent)
    )


@dataclass(frozen=True)
class ServiceSpec:
    """What distinguishes one long-running service container from another."""

    role: str
    image_reference: str
    health_test: Sequence[pulumi.Input[str]]
    published: Sequence[tuple[int, pulumi.Input[int]]]
    command: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    entrypoints: Sequence[str] | None = None
    volumes: Sequence[docker.ContainerVolumeArgs] = ()
    read_only: bool = False
    tmpfs: Mapping[str, str] | None = None


def service_container(
    name: str,
    ident: Identity,
    args: ContainerArgs,
    spec: ServiceSpec,
    image_id: pulumi.Input[str],
    envs: pulumi.Input[Sequence[pulumi.Input[str]]],
    opts: pulumi.ResourceOptions,
) -> docker.Container:
    """The named container: health check, wait until healthy, restart, labels, network.

    Every service appstack runs is built here so that none can miss a health check, a wait or
    the labels the policies read. Docker names are unique, so a replacement deletes first.
    """
    attachment = network_args(args.network, ident.network_alias, spec.published)
    return docker.Container(
        name,
        name=ident.container_name,
        image=image_id,
        command=spec.command,
        entrypoints=list(spec.entrypoints) if spec.entrypoints is not None else None,
        envs=envs,
        volumes=list(spec.volumes),
        read_only=spec.read_only or None,
        tmpfs=dict(spec.tmpfs) if spec.tmpfs is not None else None,
        healthcheck=healthcheck(args.health, spec.health_test),
        wait=True,
        wait_timeout=args.health.wait_timeout_seconds,
        must_run=True,
        restart="unless-stopped",
        labels=labels(ident.environment, spec.role, spec.image_reference),
        network_mode=attachment.network_mode,
        networks_advanced=attachment.networks_advanced,
        ports=attachment.ports,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(delete_before_replace=True)),
    )
