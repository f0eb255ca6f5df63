"""Network alone, and the one way a container attaches to a network."""

from __future__ import annotations

import pytest

from appstack.common import NetworkAttachment
from appstack.contract import NETWORK, component_type
from appstack.network import Network, NetworkArgs
from appstack.validation import ArgsError
from tests.components.helpers import build, labels


def test_a_bridge_network_is_named_after_the_instance_and_labelled() -> None:
    attachments: list[NetworkAttachment] = []

    def program() -> None:
        attachments.append(Network("edge", NetworkArgs(mode="bridge")).attachment)

    run = build(program)

    component = run.named("edge")
    assert component.type == component_type("Network")
    network = run.named("edge-network")
    assert network.type == NETWORK and network.parent_urn == component.urn
    assert network.inputs["name"] == "qa-edge"
    assert network.inputs["driver"] == "bridge"
    assert labels(network) == {"appstack.environment": "qa"}
    assert attachments[0].mode == "bridge"
    assert attachments[0].bind_address == "127.0.0.1"


def test_host_networking_creates_nothing_and_attaches_on_the_bind_address() -> None:
    attachments: list[NetworkAttachment] = []

    def program() -> None:
        args = NetworkArgs(mode="host", bind_address="127.0.0.2")
        attachments.append(Network("edge", args).attachment)

    run = build(program)

    assert run.by_type(NETWORK) == []
    assert attachments == [NetworkAttachment.host("127.0.0.2")]
    assert attachments[0].mode == "host"


@pytest.mark.parametrize("network", [None, ""])
def test_a_bridge_attachment_without_a_network_is_refused(network: str | None) -> None:
    with pytest.raises(ArgsError, match=r"network: expected the name of a Docker network"):
        NetworkAttachment.bridge(network)


def test_every_bad_network_arg_is_reported_at_once_before_any_resource() -> None:
    def program() -> None:
        Network(
            "edge",
            NetworkArgs(
                mode="overlay",  # type: ignore[arg-type]
                bind_address="127.0.0.01",
                environment="QA",
            ),
        )

    with pytest.raises(ArgsError) as caught:
        build(program)
    assert caught.value.component == "Network 'edge'"
    assert [problem.split(":")[0] for problem in caught.value.problems] == [
        "mode",
        "bind_address",
        "environment",
    ]
    assert str(caught.value).startswith("invalid arguments for Network 'edge' (3 problem(s)):")


def test_a_host_network_with_a_name_is_refused() -> None:
    def program() -> None:
        Network("edge", NetworkArgs(mode="host", network_name="qa-edge"))

    with pytest.raises(ArgsError, match=r"network_name: expected no name with host networking"):
        build(program)
