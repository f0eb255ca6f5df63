"""Upgrading appstack must not re-create anything in an existing stack: every resource keeps its
URN (type, logical name and parent chain), because a new URN means delete and create, and for a
volume or a bucket that is data loss.

`urns_0fa188f.json` was recorded from the committed stacks at 0fa188f, the last commit before
appstack became a package with per-component Args: that commit's program and stack files run under
this harness (`appstack.graph.run_program`), which gives each resource the URN the engine gives it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appstack.graph import ProgramRun
from tests.stacks import STACKS

BEFORE = json.loads((Path(__file__).parent / "urns_0fa188f.json").read_text())


@pytest.mark.parametrize("stack", STACKS)
def test_every_urn_of_a_committed_stack_is_what_it_was_before_the_package(
    programs: dict[str, ProgramRun], stack: str
) -> None:
    assert sorted(resource.urn for resource in programs[stack].resources) == BEFORE[stack]
