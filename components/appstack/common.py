"""Helpers shared by the container components: labels, health checks, networking and options.

Every container appstack runs is built from the same few pieces so that the policies can rely on
them: the `appstack.*` labels (role, environment, and the plain image reference the user gave,
which stays known during a preview when the image id is not), an explicit health check with
canonical durations (anything else shows a diff on every preview), and a wait until healthy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import pulumi
import pulumi_docker as docker
import pulumi_random as random

from components.settings import Settings
from policies.model import ENVIRONMENT_LABEL, IMAGE_LABEL, ROLE_LABEL, STATEFUL_LABEL

T = TypeVar("T")


def secret(value: pulumi.Output[T]) -> pulumi.Output[T]:
    """`pulumi.Output.secret` keeping the value's type (the SDK's annotation loses it)."""
    secret_of: Any = pulumi.Output.secret
    return cast("pulumi.Output[T]", secret_of(value))


def labels(settings: Settings, role: str, image: str) -> list[docker.ContainerLabelArgs]:
    """The appstack labels of a container (the volume variant is `volume_labels`)."""
    pairs = {ROLE_LABEL: role, ENVIRONMENT_LABEL: settings.environment, IMAGE_LABEL: image}
    return [docker.ContainerLabelArgs(label=key, value=value) for key, value in pairs.items()]


def volume_labels(settings: Settings, role: str) -> list[docker.VolumeLabelArgs]:
    """Labels marking a volume as stateful data of one environment and role."""
    return [
        docker.VolumeLabelArgs(label=ROLE_LABEL, value=role),
        docker.VolumeLabelArgs(label=ENVIRONMENT_LABEL, value=settings.environment),
        docker.VolumeLabelArgs(label=STATEFUL_LABEL, value="true"),
    ]


def healthcheck(settings: Settings, test: Sequence[str]) -> docker.ContainerHealthcheckArgs:
    """A health check with the stack's timings.

    No `start_interval`: Docker engines before API 1.44 (Debian 12's 20.10 among them) refuse a
    container that sets it, and a short `interval` gives the same quick first check everywhere.
    """
    health = settings.health
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

    In `host` mode the service listens directly on its configured port; in `bridge` mode it
    listens on its standard port inside the network and Docker publishes it on
    `bind_address:host_port`. `internal_host` is how other containers reach it and
    `listen_address` the address the service binds (never all interfaces of the host).
    """

    internal_host: str
    internal_port: int
    host_address: str
    host_port: int
    listen_address: str


def placement(
    settings: Settings, container_name: str, standard_port: int, host_port: int
) -> Placement:
    """The placement of a service given the stack's network mode."""
    address = settings.network.bind_address
    if settings.network.mode == "host":
        return Placement(address, host_port, address, host_port, listen_address=address)
    return Placement(container_name, standard_port, address, host_port, listen_address="0.0.0.0")


@dataclass(frozen=True)
class Attachment:
    """Container arguments that attach it to the stack's network and publish its ports."""

    network_mode: str | None
    networks_advanced: list[docker.ContainerNetworksAdvancedArgs] | None
    ports: list[docker.ContainerPortArgs] | None


def network_args(
    settings: Settings,
    network_name: pulumi.Input[str] | None,
    alias: str,
    published: Sequence[tuple[int, int]],
) -> Attachment:
    """How a container joins the stack's network and which ports it publishes.

    `published` is a list of (container port, host port) pairs, bound to the stack's bind
    address only (never 0.0.0.0). In host mode there is nothing to publish, and pulumi-docker
    would drop published ports and show a diff on every preview.
    """
    if settings.network.mode == "host":
        return Attachment(network_mode="host", networks_advanced=None, ports=None)
    return Attachment(
        network_mode=None,
        networks_advanced=[
            docker.ContainerNetworksAdvancedArgs(name=network_name, aliases=[alias])  # type: ignore[arg-type]
        ],
        ports=[
            docker.ContainerPortArgs(
                internal=internal, external=external, ip=settings.network.bind_address
            )
            for internal, external in published
        ],
    )


def data_options(settings: Settings, parent: pulumi.Resource) -> pulumi.ResourceOptions:
    """Options for stateful resources: protected and kept on delete where the stack says so."""
    return pulumi.ResourceOptions(
        parent=parent,
        protect=settings.data.protect,
        retain_on_delete=settings.data.retain_on_delete,
    )


def container_options(
    parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()
) -> pulumi.ResourceOptions:
    """Options of a named container: Docker names are unique, so a replacement deletes first."""
    return pulumi.ResourceOptions(
        parent=parent, depends_on=list(depends_on), delete_before_replace=True
    )


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
    health_test: Sequence[str]
    published: Sequence[tuple[int, int]]
    command: Sequence[str] | None = None
    entrypoints: Sequence[str] | None = None
    volumes: Sequence[docker.ContainerVolumeArgs] = ()
    read_only: bool = False
    tmpfs: Mapping[str, str] | None = None


def service_container(
    name: str,
    settings: Settings,
    spec: ServiceSpec,
    image_id: pulumi.Input[str],
    envs: pulumi.Input[Sequence[pulumi.Input[str]]],
    network_name: pulumi.Input[str] | None,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> docker.Container:
    """The container `{env}-{role}`: health check, wait until healthy, restart, labels, network.

    Every service appstack runs is built here so that none can miss a health check, a wait or
    the labels the policies read.
    """
    attachment = network_args(settings, network_name, spec.role, spec.published)
    return docker.Container(
        name,
        name=settings.prefixed(spec.role),
        image=image_id,
        command=list(spec.command) if spec.command is not None else None,
        entrypoints=list(spec.entrypoints) if spec.entrypoints is not None else None,
        envs=envs,
        volumes=list(spec.volumes),
        read_only=spec.read_only or None,
        tmpfs=dict(spec.tmpfs) if spec.tmpfs is not None else None,
        healthcheck=healthcheck(settings, spec.health_test),
        wait=True,
        wait_timeout=settings.health.wait_timeout_seconds,
        must_run=True,
        restart="unless-stopped",
        labels=labels(settings, spec.role, spec.image_reference),
        network_mode=attachment.network_mode,
        networks_advanced=attachment.networks_advanced,
        ports=attachment.ports,
        opts=container_options(parent, depends_on),
    )
