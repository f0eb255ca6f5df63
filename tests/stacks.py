"""appstack's own program and stack files, as the tests run them under mocks."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from appstack.graph import ProgramRun, in_namespace, namespaced, read_stack_file, run_program
from appstack.settings import NAMESPACE

REPO_ROOT = Path(__file__).resolve().parent.parent
PROGRAM = REPO_ROOT / "__main__.py"
STACKS = ("dev", "stage", "prod", "ci", "ci-k8s")
"""The committed stacks."""
DOCKER_STACKS = ("dev", "stage", "prod", "ci")
"""The committed stacks of the Docker target (`ci-k8s` is the Kubernetes one)."""


def stack_config(stack: str) -> dict[str, Any]:
    """The `appstack:` values of a committed stack file, keyed without the namespace."""
    return in_namespace(read_stack_file(REPO_ROOT / f"Pulumi.{stack}.yaml"), NAMESPACE)


def run_stack(
    stack: str, values: Mapping[str, Any] | None = None, *, preview: bool = False
) -> ProgramRun:
    """appstack's program as `stack`, with `values` (default: the stack file), recorded."""
    config = stack_config(stack) if values is None else values
    return run_program(PROGRAM, stack, namespaced(config, NAMESPACE), preview=preview)
