"""Run a Pulumi program under the SDK's mocks and record its resource graph.

No engine, no Docker, no network: the program (any `__main__.py`, appstack's own or a consumer's)
runs in this process against a recording mock monitor, in its own directory as Pulumi runs it,
with the config given (typically a stack file's, `read_stack_file`, plus overrides). Every
registration is kept as the engine would see it: type, logical name, parent, inputs with secret
and unknown values marked, and the options that matter (protect, retain on delete, dependencies).
In preview mode, values that a provider computes on create (an image id, a password) are unknown
(`appstack.contract.UNKNOWN`, the sentinel the policies judge), exactly as in `pulumi preview` of
a new stack. The policy check (`python -m policies.check`) and the tests both use this.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import runpy
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime.sync_await import _sync_await

from appstack.contract import (
    COMMAND,
    PGVECTOR_EXTENSION,
    RANDOM_PASSWORD,
    REMOTE_IMAGE,
    UNKNOWN,
    WIRE_UNKNOWN,
)

STACK_TYPE = "pulumi:pulumi:Stack"
"""The type of the root resource every program registers first (not recorded)."""


@dataclass
class RecordedResource:
    """One resource registration as the engine receives it."""

    type: str
    name: str
    urn: str
    parent_urn: str
    custom: bool
    inputs: dict[str, Any]
    secret_inputs: frozenset[str]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    dependencies: tuple[str, ...]
    """URNs, sorted: the SDK resolves them concurrently, so the order it sends is not meaningful."""
    additional_secret_outputs: tuple[str, ...]
    provider: str = ""
    """The explicit provider reference (`<provider urn>::<id>`), "" for the default provider."""

    @property
    def parent_type(self) -> str:
        """The type token of the parent, read off its URN ('' for the stack's children)."""
        if not self.parent_urn:
            return ""
        parent = self.parent_urn.split("::")[2].split("$")[-1]
        return "" if parent == STACK_TYPE else parent


@dataclass
class ProgramRun:
    """The recorded graph and stack outputs of one program run."""

    stack: str
    preview: bool
    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)

    def by_type(self, type_: str) -> list[RecordedResource]:
        """Every resource of a type, in registration order."""
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> RecordedResource:
        """The resource with a logical name; KeyError naming what exists otherwise."""
        for resource in self.resources:
            if resource.name == name:
                return resource
        raise KeyError(f"no resource {name!r}; have {[r.name for r in self.resources]}")


def _decode(value: Any) -> tuple[Any, bool]:
    """A wire value with secrets unwrapped and unknowns as UNKNOWN; and whether it held a secret."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            inner, _ = _decode(value.get("value"))
            return inner, True
        decoded: dict[str, Any] = {}
        secret = False
        for key, item in value.items():
            decoded[key], item_secret = _decode(item)
            secret = secret or item_secret
        return decoded, secret
    if isinstance(value, list):
        items = [_decode(item) for item in value]
        return [item for item, _ in items], any(flag for _, flag in items)
    if value == WIRE_UNKNOWN:
        return UNKNOWN, False
    # Numbers stay as the wire carries them, floats (7.0), exactly as the engine hands them to a
    # policy pack: turning them back into ints here once hid a policy that refused 7.0.
    return value, False


class _ComputedValues(pulumi.runtime.Mocks):
    """Mock providers: echo inputs and, outside preview, compute what real providers compute."""

    def __init__(self, preview: bool) -> None:
        self.preview = preview

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        resource_id = f"{args.name}-id"
        if self.preview:
            return resource_id, state
        if args.typ == REMOTE_IMAGE:
            digest = hashlib.sha256(str(args.inputs.get("name")).encode()).hexdigest()
            state["imageId"] = f"sha256:{digest}"
            state["repoDigest"] = ""
        elif args.typ == RANDOM_PASSWORD:
            state["result"] = f"generated-{args.name}-0123456789"
        elif args.typ == PGVECTOR_EXTENSION:
            state.update(extension_version="0.8.0", server_version="17.2")
        elif args.typ == COMMAND:
            state["stdout"] = "INFO  [alembic] ok\nappstack-migration-revision: 0001_initial"
            state["stderr"] = ""
        return resource_id, state

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


@contextmanager
def _closed_thread_loop() -> Iterator[None]:
    """Give a mock-monitor call on an executor thread an event loop, and close it afterwards.

    Pulumi's mock monitor runs on the program loop's executor threads and, finding no loop there,
    makes one per thread with `asyncio.new_event_loop()` and never closes it. Those loops were
    left to the garbage collector, which may finalize a loop's self-pipe socket before the loop
    itself; `BaseEventLoop.__del__` then closes the loop and fails on the closed socket
    ("Exception ignored in ... ValueError: Invalid file descriptor: -1"), at random, in about
    one run in a dozen. A loop made here is closed when the call returns.
    """
    try:
        asyncio.get_running_loop()
        running = True
    except RuntimeError:
        running = False
    if running or threading.current_thread() is threading.main_thread():
        yield
        return
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Close the program's loop as `asyncio.run` does: cancel what is left, stop its executor."""
    try:
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        asyncio.set_event_loop(None)
        loop.close()


class _RecordingMonitor(mocks.MockMonitor):
    """The mock monitor, keeping every registration request as the engine would see it."""

    def __init__(self, computed: _ComputedValues, run: ProgramRun) -> None:
        super().__init__(computed)
        self.run = run

    def Invoke(self, request: Any) -> Any:
        with _closed_thread_loop():
            return super().Invoke(request)

    def ReadResource(self, request: Any) -> Any:
        with _closed_thread_loop():
            return super().ReadResource(request)

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The URN the engine gives: the parent's whole type chain, the root stack left out.

        (The SDK's mock keeps only the parent's last type and includes the stack's, so its
        URNs differ from the engine's for every grandchild of the stack.)
        """
        if parent:
            chain = parent.split("::")[2]
            if chain != STACK_TYPE:
                type_ = f"{chain}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request: Any) -> Any:
        with _closed_thread_loop():
            response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            return response
        raw = json_format.MessageToDict(request.object, preserving_proto_field_name=True)
        inputs: dict[str, Any] = {}
        secret: set[str] = set()
        for key, value in raw.items():
            if key.startswith("__"):
                continue  # the engine's own (`__provider`, `__defaults`): no policy sees them
            inputs[key], is_secret = _decode(value)
            if is_secret:
                secret.add(key)
        self.run.resources.append(
            RecordedResource(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent_urn=request.parent,
                custom=request.custom,
                inputs=inputs,
                secret_inputs=frozenset(secret),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                dependencies=tuple(sorted(request.dependencies)),
                additional_secret_outputs=tuple(request.additionalSecretOutputs),
                provider=request.provider,
            )
        )
        return response


def read_stack_file(path: Path) -> dict[str, Any]:
    """The `config:` values of a stack file (`Pulumi.<stack>.yaml`), keyed `namespace:key`."""
    document = yaml.safe_load(path.read_text()) or {}
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        return {}
    return {str(key): value for key, value in config.items()}


def in_namespace(config: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """The values of one namespace (`appstack:database` -> `database`)."""
    prefix = f"{namespace}:"
    return {key[len(prefix) :]: value for key, value in config.items() if key.startswith(prefix)}


def namespaced(values: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """Values keyed without namespace, keyed `namespace:key` as a program's config holds them."""
    return {f"{namespace}:{key}": value for key, value in values.items()}


def project_name(program: Path) -> str | None:
    """The project name in the `Pulumi.yaml` beside `program`, if there is one."""
    project_file = program.parent / "Pulumi.yaml"
    if not project_file.is_file():
        return None
    document = yaml.safe_load(project_file.read_text()) or {}
    name = document.get("name") if isinstance(document, dict) else None
    return name if isinstance(name, str) and name else None


def apply_override(values: dict[str, Any], path: str, value: Any) -> None:
    """Set `key.sub.field` inside the config values to an already parsed value.

    Raises ValueError when the path runs through something that is not an object.
    """
    parts = path.split(".")
    if len(parts) == 1:
        values[parts[0]] = value
        return
    node = values.setdefault(parts[0], {})
    for part in parts[1:-1]:
        if not isinstance(node, dict):
            raise ValueError(f"cannot set {path}: {part!r} is not an object")
        node = node.setdefault(part, {})
    if not isinstance(node, dict):
        raise ValueError(f"cannot set {path}: not an object")
    node[parts[-1]] = value


async def _resolve_outputs(value: Any, path: str, secret_paths: set[str]) -> Any:
    """A stack output's plain value, noting the dotted path of every secret inside it."""
    if isinstance(value, dict):
        return {
            key: await _resolve_outputs(item, f"{path}.{key}" if path else key, secret_paths)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [await _resolve_outputs(item, path, secret_paths) for item in value]
    output = pulumi.Output.from_input(value)
    if await output.is_secret():
        secret_paths.add(path)
    if not await output.is_known():
        return UNKNOWN
    resolved = await output.future()
    if isinstance(resolved, dict | list):
        return await _resolve_outputs(resolved, path, secret_paths)
    return resolved


@contextmanager
def _in_directory_of(program: Path) -> Iterator[None]:
    """Run with the program's directory as working directory and first import path, as Pulumi
    runs a program (relative paths in it, such as a build context, resolve there)."""
    previous = Path.cwd()
    directory = str(program.parent)
    os.chdir(directory)
    sys.path.insert(0, directory)
    try:
        yield
    finally:
        os.chdir(previous)
        if directory in sys.path:
            sys.path.remove(directory)


def record(
    program: Callable[[], None],
    stack: str,
    config: Mapping[str, Any] | None = None,
    *,
    project: str = "project",
    preview: bool = False,
) -> ProgramRun:
    """Run `program` (a function that declares resources) as stack `stack`; record its graph.

    `config` holds the config values keyed `namespace:key` (see `read_stack_file`, `namespaced`);
    structured values are passed as JSON, as the engine passes them. `project` is the project name
    in every URN. With `preview`, values providers compute are unknown, as in a preview of a new
    stack. Raises whatever the program raises (a `pulumi.RunError` for invalid settings or Args).
    """
    run = ProgramRun(stack=stack, preview=preview)
    computed = _ComputedValues(preview)
    monitor = _RecordingMonitor(computed, run)

    pulumi.runtime.set_all_config(
        {
            key: json.dumps(value) if not isinstance(value, str) else value
            for key, value in (config or {}).items()
        }
    )
    settings.set_root_resource(None)  # type: ignore[arg-type]
    # The root stack resource binds to the current loop: make the loop first. It is closed at
    # the end, with the loops of the monitor's threads (see `_closed_thread_loop`).
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        mocks.set_mocks(computed, project=project, stack=stack, preview=preview, monitor=monitor)
        root = settings.get_root_resource()
        _sync_await(mocks.run_pulumi_func(program))
        exported = dict(getattr(root, "outputs", {}))
        run.outputs = _sync_await(_resolve_outputs(exported, "", run.secret_outputs))
    finally:
        settings.set_root_resource(None)  # type: ignore[arg-type]
        _close_loop(loop)
    return run


def run_program(
    program: str | Path,
    stack: str,
    config: Mapping[str, Any] | None = None,
    *,
    project: str | None = None,
    preview: bool = False,
) -> ProgramRun:
    """Run the Pulumi program file `program` (a `__main__.py`) as `record` does, in its directory.

    `project` defaults to the name in the `Pulumi.yaml` beside the program, else its directory's.
    """
    path = Path(program).resolve()

    def main() -> None:
        runpy.run_path(str(path), run_name="__main__")

    with _in_directory_of(path):
        return record(
            main,
            stack,
            config,
            project=project or project_name(path) or path.parent.name,
            preview=preview,
        )
