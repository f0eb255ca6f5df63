"""Components built alone under Pulumi's mocks, as a program of their own would build them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from appstack.contract import CONTAINER
from appstack.graph import ProgramRun, RecordedResource, record

STACK = "qa"
"""Not one of appstack's own stacks: any stack named like a prefix is an environment."""


def build(program: Callable[[], object], *, preview: bool = False) -> ProgramRun:
    """Record `program` (what it returns is ignored) as stack `qa` of a project `consumer`."""

    def main() -> None:
        program()

    return record(main, STACK, project="consumer", preview=preview)


def labels(resource: RecordedResource) -> dict[str, Any]:
    """A container's, volume's or network's labels as a dict."""
    return {item["label"]: item["value"] for item in resource.inputs.get("labels", [])}


def children(run: ProgramRun, parent: RecordedResource) -> dict[str, str]:
    """The direct children of a component: logical name -> type."""
    return {r.name: r.type for r in run.resources if r.parent_urn == parent.urn}


def envs(container: RecordedResource) -> dict[str, str]:
    """A container's environment as a dict."""
    return dict(entry.split("=", 1) for entry in container.inputs["envs"])


def containers(run: ProgramRun) -> list[RecordedResource]:
    return run.by_type(CONTAINER)
