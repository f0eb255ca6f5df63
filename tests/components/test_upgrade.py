"""Upgrading appstack must not re-create anything in an existing stack: every resource keeps its
URN (type, logical name and parent chain), because a new URN means delete and create, and for a
volume or a bucket that is data loss.

`urns_0fa188f.json` was recorded from the committed stacks at 0fa188f, the last commit before
appstack became a package with per-component Args: that commit's program and stack files run under
this harness (`appstack.graph.run_program`), which gives each resource the URN the engine gives it.

The one thing an upgrade adds is the stack's explicit Docker provider (issue 13). What that
changes for every Docker resource is its provider reference, from the engine's default docker
provider to `appstack-docker`, whose `host` is the default provider's own default (the local
socket): the engine then asks the provider's DiffConfig whether the switch replaces anything
(pulumi/pulumi#18509), and equal configuration does not. `tests/e2e/test_remote_stack.py` runs
that switch under the real engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appstack.contract import COMMAND, RANDOM_PASSWORD
from appstack.docker_target import LOCAL_HOST
from appstack.graph import ProgramRun
from tests.stacks import DOCKER_STACKS

BEFORE = json.loads((Path(__file__).parent / "urns_0fa188f.json").read_text())
DOCKER_PROVIDER = "pulumi:providers:docker"


@pytest.mark.parametrize("stack", DOCKER_STACKS)
def test_every_urn_of_a_committed_stack_is_what_it_was_before_the_package(
    programs: dict[str, ProgramRun], stack: str
) -> None:
    urns = [r.urn for r in programs[stack].resources if r.type != DOCKER_PROVIDER]
    assert sorted(urns) == BEFORE[stack]


@pytest.mark.parametrize("stack", DOCKER_STACKS)
def test_the_upgrade_adds_one_local_docker_provider_and_moves_only_docker_resources_onto_it(
    programs: dict[str, ProgramRun], stack: str
) -> None:
    resources = programs[stack].resources
    (provider,) = [r for r in resources if r.type == DOCKER_PROVIDER]
    assert provider.urn == (
        f"urn:pulumi:{stack}::appstack::appstack:index:Platform${DOCKER_PROVIDER}::appstack-docker"
    )
    # Exactly what the default provider uses when given nothing: no config change to diff.
    assert provider.inputs.get("host") == LOCAL_HOST == "unix:///var/run/docker.sock"
    assert not {"sshOpts", "caMaterial", "certMaterial", "keyMaterial"} & set(provider.inputs)
    for resource in resources:
        if not resource.custom or resource.type == DOCKER_PROVIDER:
            assert resource.provider == "", resource.name  # components carry no reference
        elif resource.type.startswith("docker:"):
            assert resource.provider.startswith(f"{provider.urn}::"), resource.name
        else:  # random, command, the dynamic providers: still their default providers
            assert resource.type in {COMMAND, RANDOM_PASSWORD} or "dynamic" in resource.type
            assert resource.provider == "", resource.name


@pytest.mark.parametrize("stack", DOCKER_STACKS)
def test_a_local_stack_s_migration_step_is_unchanged_by_the_docker_target(
    programs: dict[str, ProgramRun], stack: str
) -> None:
    """No DOCKER_HOST for the local engine: the step's inputs (a no-op `up`) stay as they were."""
    (run,) = programs[stack].by_type(COMMAND)
    assert not {"DOCKER_HOST", "APPSTACK_DOCKER_SSH_OPTS"} & set(run.inputs["environment"])
