"""Network: the user-defined Docker network of one environment, and how containers attach to it.

With `mode="bridge"` it creates the Docker network `network_name` (default `{environment}-{name}`),
so containers reach each other by name and nothing else shares their network. With `mode="host"`
it creates nothing: every service listens on its own port of the bind address (loopback by
default). Either way `attachment` is what the other components take as their `network`.
"""

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_docker as docker

from appstack.common import NetworkAttachment
from appstack.contract import ENVIRONMENT_LABEL, component_type
from appstack.defaults import section
from appstack.validation import DOCKER_NAME, ENVIRONMENT, Problems

_DEFAULTS = section("network")


@dataclass(kw_only=True)
class NetworkArgs:
    """The environment's network. Plain values: they decide which resources exist."""

    mode: Literal["bridge", "host"] = _DEFAULTS["mode"]
    """`bridge`: a user-defined Docker network; `host`: host networking, no network created."""
    bind_address: str = _DEFAULTS["bindAddress"]
    """The host address services listen on (host) or are published on (bridge); IPv4."""
    network_name: str | None = None
    """The Docker network's name (bridge only). Default `{environment}-{name}`."""
    environment: str | None = None
    """The environment label of the network and the prefix of its default name; default: stack."""


class Network(pulumi.ComponentResource):
    """The environment's network; `attachment` is how the other components join it."""

    network_name: pulumi.Output[str] | None
    """The Docker network's name; None with host networking."""

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        problems = Problems(f"Network {name!r}")
        if args.mode not in ("bridge", "host"):
            problems.bad("mode", '"bridge" or "host"', args.mode)
        problems.ipv4("bind_address", args.bind_address)
        environment = args.environment or pulumi.get_stack()
        problems.matches(
            "environment", environment, ENVIRONMENT, "1-20 lower-case letters, digits and dashes"
        )
        network_name = args.network_name or f"{environment}-{name}"
        if args.mode == "host" and args.network_name:
            problems.bad(
                "network_name",
                "no name with host networking (nothing is created)",
                args.network_name,
            )
        problems.matches("network_name", network_name, DOCKER_NAME, "a Docker network name")
        problems.raise_if_any()

        super().__init__(component_type("Network"), name, None, opts)
        self.network_name = None
        self.attachment: NetworkAttachment = NetworkAttachment.host(args.bind_address)
        """Pass this as the `network` of every component of the environment."""
        if args.mode == "bridge":
            network = docker.Network(
                f"{name}-network",
                name=network_name,
                driver="bridge",
                labels=[docker.NetworkLabelArgs(label=ENVIRONMENT_LABEL, value=environment)],
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.network_name = network.name
            self.attachment = NetworkAttachment.bridge(network.name, args.bind_address)
        self.register_outputs({"networkName": self.network_name})
