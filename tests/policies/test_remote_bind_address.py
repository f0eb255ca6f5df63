"""remote-bind-address: on a remote Docker host no service listens on every interface; mandatory
in prod, advisory elsewhere, allowed only explicitly. Judged from the graph (the provider's host
comes with each resource, as the engine sends it) and from whole programs under mocks."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from policies import remote_bind_address
from policies.check import main
from policies.evaluate import evaluate
from policies.model import PolicyConfig, PolicyContext, Resource
from tests.policies.graph import baseline, named, with_props
from tests.stacks import stack_config

DATABASE = "appstack-database-container"
REMOTE = {"host": "ssh://deploy@mini.lan", "sshOpts": ["-i", "/k"], "connectAddress": "mini.lan"}
LOCAL = {"host": "unix:///var/run/docker.sock"}


def on(resource: Resource, provider: dict[str, Any]) -> Resource:
    return replace(resource, provider_props=provider)


def judge(resource: Resource, stack: str, config: PolicyConfig | None = None) -> list[Any]:
    ctx = PolicyContext(stack=stack, config=config or PolicyConfig())
    return remote_bind_address.check(resource, ctx) + remote_bind_address.check_advisory(
        resource, ctx
    )


def published_everywhere(stack: str, ip: Any) -> Resource:
    database = named(baseline(stack), DATABASE)
    port: dict[str, Any] = {"internal": 5432, "external": 5432.0}  # numbers arrive as floats
    if ip is not None:
        port["ip"] = ip
    return with_props(database, ports=[port], networkMode=None)


@pytest.mark.parametrize("ip", [None, "", "0.0.0.0", "::"])
def test_a_port_published_on_every_interface_of_a_remote_host_is_mandatory_in_prod(
    ip: Any,
) -> None:
    (violation,) = judge(on(published_everywhere("prod", ip), REMOTE), "prod")
    assert violation.policy == "remote-bind-address" and violation.mandatory
    assert "remote Docker host ssh://deploy@mini.lan" in violation.message
    assert "publishes port 5432" in violation.message
    assert "allowAllInterfaces: true" in violation.message


def test_the_same_elsewhere_is_advisory() -> None:
    (violation,) = judge(on(published_everywhere("dev", "0.0.0.0"), REMOTE), "dev")
    assert violation.policy == "remote-bind-address-advisory" and not violation.mandatory


def test_host_networking_listening_on_every_interface_is_reported() -> None:
    database = named(baseline("prod"), DATABASE)
    listening = with_props(
        database, networkMode="host", command=["postgres", "-c", "listen_addresses=0.0.0.0"]
    )
    (violation,) = judge(on(listening, REMOTE), "prod")
    assert "listens on 0.0.0.0 with host networking" in violation.message


def test_a_bridge_service_listening_inside_its_own_network_is_not_reported() -> None:
    database = named(baseline("prod"), DATABASE)
    inside = with_props(
        database,
        networkMode=None,
        command=["postgres", "-c", "listen_addresses=0.0.0.0"],
        ports=[{"internal": 5432.0, "external": 5432.0, "ip": "10.0.0.5"}],
    )
    assert judge(on(inside, REMOTE), "prod") == []


@pytest.mark.parametrize("provider", [LOCAL, {}, {"host": ""}])
def test_a_local_or_default_engine_is_not_judged(provider: dict[str, Any]) -> None:
    assert judge(on(published_everywhere("prod", "0.0.0.0"), provider), "prod") == []


def test_allowing_every_interface_explicitly_passes() -> None:
    allowed = PolicyConfig.from_mapping({"allowAllInterfaces": True})
    assert judge(on(published_everywhere("prod", None), REMOTE), "prod", allowed) == []
    with pytest.raises(ValueError, match="allowAllInterfaces"):
        PolicyConfig.from_mapping({"allowAllInterfaces": "yes"})


def test_a_remote_prod_stack_as_appstack_builds_it_is_clean_end_to_end() -> None:
    """The whole program under mocks with a remote target: the provider's host reaches the
    policy through the recorded graph, and appstack's own binding passes."""
    from appstack.graph import namespaced, run_program
    from policies.check import to_policy_resource
    from tests.stacks import PROGRAM

    values = copy.deepcopy(stack_config("prod"))
    values["docker"] = REMOTE
    run = run_program(PROGRAM, "prod", namespaced(values, "appstack"), preview=True)
    providers = {r.urn: r for r in run.resources if r.type.startswith("pulumi:providers:")}
    resources = [to_policy_resource(r, providers) for r in run.resources]
    containers = [r for r in resources if r.type == "docker:index/container:Container"]
    assert containers and all(r.provider_props["host"] == REMOTE["host"] for r in containers)
    names = {v.policy for v in evaluate(resources, "prod", run.outputs, run.secret_outputs)}
    assert not names & {"remote-bind-address", "remote-bind-address-advisory"}


def test_the_check_command_accepts_the_allowance(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "ci", "--policy-config", '{"allowAllInterfaces": true}']) == 0
    assert main(["--stack", "ci", "--set", 'docker.host="ssh://x@mini.lan"']) == 2
    assert "docker.connectAddress" in capsys.readouterr().err
