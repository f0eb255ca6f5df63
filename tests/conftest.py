"""Shared fixtures: the recorded program graph per stack, and the real-server fixtures."""

from __future__ import annotations

import pytest

from policies.program import ProgramRun, run_program

pytest_plugins = ["tests.realservers.fixtures", "tests.realservers.db_fixtures"]

STACKS = ("dev", "stage", "prod", "ci")


@pytest.fixture(scope="session")
def programs() -> dict[str, ProgramRun]:
    """Each committed stack's program, run once under mocks as an `up` would (values known)."""
    return {stack: run_program(stack) for stack in STACKS}


@pytest.fixture(scope="session")
def previews() -> dict[str, ProgramRun]:
    """Each committed stack's program as a preview of a new stack sees it (computed unknown)."""
    return {stack: run_program(stack, preview=True) for stack in STACKS}
