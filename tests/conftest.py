"""Shared fixtures: the recorded program graph per stack, and the real-server fixtures."""

from __future__ import annotations

import pytest

from appstack.graph import ProgramRun
from tests.stacks import STACKS, run_stack

pytest_plugins = ["tests.realservers.fixtures", "tests.realservers.db_fixtures"]


@pytest.fixture(scope="session")
def programs() -> dict[str, ProgramRun]:
    """Each committed stack's program, run once under mocks as an `up` would (values known)."""
    return {stack: run_stack(stack) for stack in STACKS}


@pytest.fixture(scope="session")
def previews() -> dict[str, ProgramRun]:
    """Each committed stack's program as a preview of a new stack sees it (computed unknown)."""
    return {stack: run_stack(stack, preview=True) for stack in STACKS}
