"""Network: the user-defined Docker network of one environment (bridge mode only).

Creates `{env}-network` in bridge mode, so containers reach each other by name and nothing else
shares their network. In host mode it creates nothing: every service listens on its own port of
the bind address (loopback by default).
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components.settings import Settings
from policies.model import ENVIRONMENT_LABEL


class Network(pulumi.ComponentResource):
    """The environment's network; `network_name` is None in host mode."""

    network_name: pulumi.Output[str] | None

    def __init__(
        self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("appstack:index:Network", name, None, opts)
        self.network_name = None
        if settings.network.mode == "bridge":
            network = docker.Network(
                f"{name}-network",
                name=settings.prefixed("network"),
                driver="bridge",
                labels=[
                    docker.NetworkLabelArgs(label=ENVIRONMENT_LABEL, value=settings.environment)
                ],
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.network_name = network.name
        self.register_outputs({"networkName": self.network_name})
