"""The component package other languages use (`appstack.provider`, served from provider/).

Its schema as Pulumi's component provider host infers it, and each component built through the
host's `ComponentProvider.construct` (inputs as the engine sends them: schema names, every number
a float) registering exactly what the Python component registers with the equivalent Args. The
real engine and a YAML program: tests/e2e/test_component_package.py.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.util import camel_case
from pulumi.provider.server import ComponentInitError

from appstack import backend, cache, database, migration, network, object_store, provider
from appstack.common import HealthCheck, NetworkAttachment
from appstack.graph import ProgramRun
from appstack.validation import ArgsError
from tests.components.helpers import build
from tests.stacks import REPO_ROOT

HOST = NetworkAttachment.host("127.0.0.1")
IMAGE_ID = "sha256:" + "ab" * 32
PYTHON_CLASSES: dict[str, type[pulumi.ComponentResource]] = {
    "Network": network.Network,
    "Database": database.Database,
    "Cache": cache.Cache,
    "ObjectStore": object_store.ObjectStore,
    "Migration": migration.Migration,
    "Backend": backend.Backend,
}
ARGS = {
    "Network": (provider.NetworkInputs, network.NetworkArgs),
    "Database": (provider.DatabaseInputs, database.DatabaseArgs),
    "Cache": (provider.CacheInputs, cache.CacheArgs),
    "ObjectStore": (provider.ObjectStoreInputs, object_store.ObjectStoreArgs),
    "Migration": (provider.MigrationInputs, migration.MigrationArgs),
    "Backend": (provider.BackendInputs, backend.BackendArgs),
}


@pytest.fixture(scope="module")
def host() -> ComponentProvider:
    """What `component_provider_host` serves (`serve()` passes the same arguments)."""
    return ComponentProvider(provider.COMPONENTS, provider.PACKAGE, None, "0.0.0")


@pytest.fixture(scope="module")
def schema(host: ComponentProvider) -> dict[str, Any]:
    assert host.schema is not None
    return dict(json.loads(host.schema))


def test_the_schema_serves_every_component_under_its_python_type_token(
    schema: dict[str, Any],
) -> None:
    assert schema["name"] == "appstack"
    assert set(schema["resources"]) == {f"appstack:index:{name}" for name in PYTHON_CLASSES}
    for name, component in PYTHON_CLASSES.items():
        served = getattr(provider, name)
        assert issubclass(served, component), f"{name} must be the Python component itself"


def test_every_args_field_is_an_input_and_only_those(schema: dict[str, Any]) -> None:
    for name, (inputs, args) in ARGS.items():
        fields = {field.name for field in dataclasses.fields(args)}
        assert set(inputs.__annotations__) == fields, name
        served = schema["resources"][f"appstack:index:{name}"]["inputProperties"]
        assert set(served) == {camel_case(field) for field in fields}, name


def test_required_inputs_are_the_args_without_a_default(schema: dict[str, Any]) -> None:
    for name, (_, args) in ARGS.items():
        required = {
            camel_case(field.name)
            for field in dataclasses.fields(args)
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        }
        served = schema["resources"][f"appstack:index:{name}"]
        assert set(served["requiredInputs"]) == required, name


def test_outputs_are_the_python_components_annotated_outputs(schema: dict[str, Any]) -> None:
    """Handles for Python programs (Database.ready, ...) are attributes, never schema outputs."""
    for name, component in PYTHON_CLASSES.items():
        annotated = inspect.get_annotations(component)
        served = schema["resources"][f"appstack:index:{name}"]["properties"]
        assert set(served) == {camel_case(key) for key in annotated}, name
    database_outputs = schema["resources"]["appstack:index:Database"]["properties"]
    assert {"pgvectorVersion", "dsn", "internalDsn"} <= set(database_outputs)
    assert "ready" not in database_outputs


def test_values_the_policies_read_at_preview_stay_plain(schema: dict[str, Any]) -> None:
    for name in ("Database", "Cache", "ObjectStore"):
        image = schema["resources"][f"appstack:index:{name}"]["inputProperties"]["image"]
        assert image["plain"] is True, name
    attachment = schema["types"]["appstack:index:NetworkAttachment"]["properties"]
    assert attachment["bindAddress"]["plain"] is True
    assert "plain" not in attachment["bridgeNetwork"]


def construct(
    host: ComponentProvider, kind: str, name: str, inputs: dict[str, Any]
) -> Callable[[], None]:
    """A program constructing `kind` through the host, as the engine's Construct call does."""

    def program() -> None:
        result = host.construct(name, f"appstack:index:{kind}", inputs, pulumi.ResourceOptions())
        for key, value in result.state.items():
            pulumi.export(key, value)

    return program


def python(kind: str, name: str, args: Any) -> Callable[[], None]:
    """The same component made by a Python program, exporting its outputs under schema names."""

    def program() -> None:
        component = PYTHON_CLASSES[kind](name, args)  # type: ignore[call-arg]
        for key in inspect.get_annotations(PYTHON_CLASSES[kind]):
            value = getattr(component, key)
            if value is not None:
                pulumi.export(camel_case(key), value)

    return program


CASES: list[tuple[str, dict[str, Any], Any]] = [
    (
        "Database",
        {
            "network": {"bindAddress": "127.0.0.1"},
            "image": "pgvector/pgvector:pg18",
            "port": 47432.0,
            "connectTimeoutSeconds": 30.0,
            "health": {"interval": "1s", "retries": 5.0, "waitTimeoutSeconds": 60.0},
        },
        database.DatabaseArgs(
            network=HOST,
            image="pgvector/pgvector:pg18",
            port=47432,
            connect_timeout_seconds=30,
            health=HealthCheck(interval="1s", retries=5, wait_timeout_seconds=60),
        ),
    ),
    (
        "Cache",
        {
            "network": {"bindAddress": "127.0.0.2", "bridgeNetwork": "shared"},
            "maxMemoryMb": 64.0,
            "persistence": True,
            "protectData": True,
        },
        cache.CacheArgs(
            network=NetworkAttachment.bridge("shared", "127.0.0.2"),
            max_memory_mb=64,
            persistence=True,
            protect_data=True,
        ),
    ),
    (
        "ObjectStore",
        {
            "network": {},
            "buckets": [
                {"role": "uploads", "expirationDays": 7.0, "abortIncompleteMultipartDays": 1.0},
                {"role": "backups", "versioning": True, "noncurrentVersionExpirationDays": 30.0},
            ],
            "bucketPrefix": "files",
            "healthCommand": ["CMD", "true"],
        },
        object_store.ObjectStoreArgs(
            network=HOST,
            buckets=[
                object_store.BucketSpec(
                    role="uploads", expiration_days=7, abort_incomplete_multipart_days=1
                ),
                object_store.BucketSpec(
                    role="backups", versioning=True, noncurrent_version_expiration_days=30
                ),
            ],
            bucket_prefix="files",
            health_command=("CMD", "true"),
        ),
    ),
    (
        "Network",
        {"mode": "bridge", "networkName": "shared"},
        network.NetworkArgs(mode="bridge", network_name="shared"),
    ),
    (
        "Migration",
        {
            "imageId": IMAGE_ID,
            "databaseUrl": "postgresql+psycopg://app:pw@127.0.0.1:5432/app",
            "network": {"bindAddress": "127.0.0.1"},
            "migrationCommand": ["alembic", "upgrade", "heads"],
        },
        migration.MigrationArgs(
            image_id=IMAGE_ID,
            database_url="postgresql+psycopg://app:pw@127.0.0.1:5432/app",
            network=HOST,
            migration_command=("alembic", "upgrade", "heads"),
        ),
    ),
    (
        "Backend",
        {
            "network": {"bindAddress": "127.0.0.1"},
            "image": {"reference": "appstack/backend:ci", "imageId": IMAGE_ID},
            "port": 48000.0,
            "environmentVariables": {"DATABASE_URL": "postgresql://db"},
            "corsOrigins": ["http://localhost:3000"],
        },
        backend.BackendArgs(
            network=HOST,
            image=backend.BackendImage("appstack/backend:ci", IMAGE_ID),
            port=48000,
            environment_variables={"DATABASE_URL": "postgresql://db"},
            cors_origins=("http://localhost:3000",),
        ),
    ),
]


def _same(left: ProgramRun, right: ProgramRun) -> None:
    """The same registrations (in whichever order they reached the monitor) and outputs."""
    assert sorted(r.urn for r in left.resources) == sorted(r.urn for r in right.resources)
    by_urn = {r.urn: r for r in right.resources}
    for resource in left.resources:
        assert resource == by_urn[resource.urn]
    assert left.outputs == right.outputs
    assert left.secret_outputs == right.secret_outputs


@pytest.mark.parametrize(("kind", "inputs", "args"), CASES, ids=[case[0] for case in CASES])
def test_a_component_from_another_language_is_the_python_one(
    host: ComponentProvider, kind: str, inputs: dict[str, Any], args: Any
) -> None:
    for preview in (False, True):
        served = build(construct(host, kind, "one", inputs), preview=preview)
        native = build(python(kind, "one", args), preview=preview)
        _same(served, native)
    assert served.named("one").type == f"appstack:index:{kind}"


def test_bad_inputs_fail_with_the_components_own_error(host: ComponentProvider) -> None:
    inputs = {"network": {"bindAddress": "0.0.0.0.1"}, "port": 70.5, "image": "Not An Image"}
    with pytest.raises(ComponentInitError) as raised:
        build(construct(host, "Database", "db", inputs))
    error = raised.value.inner
    assert isinstance(error, ArgsError)
    assert error.component == "Database 'db'"
    assert len(error.problems) == 3
    assert "port: expected an integer from 1 to 65535, got 70.5" in error.problems

    with pytest.raises(ComponentInitError) as raised:
        build(construct(host, "Cache", "cache", {"network": {"bridgeNetwork": ""}}))
    assert isinstance(raised.value.inner, ArgsError)
    assert "network.bridgeNetwork: expected the name of a Docker network" in str(raised.value.inner)


def test_the_plugin_directory_runs_the_provider_in_the_checkouts_virtualenv() -> None:
    plugin = REPO_ROOT / "provider"
    manifest = yaml.safe_load((plugin / "PulumiPlugin.yaml").read_text())
    assert manifest["runtime"] == {
        "name": "python",
        "options": {"toolchain": "pip", "virtualenv": "../.venv"},
    }
    assert "serve()" in (plugin / "__main__.py").read_text()
    requirements = (plugin / "requirements.txt").read_text().split("\n")
    assert "-e .." in requirements


def test_the_readme_shows_the_tested_yaml_program() -> None:
    """README's "From other languages" program is the one the engine test deploys."""
    program = (REPO_ROOT / "tests" / "e2e" / "yaml_program" / "Pulumi.yaml").read_text()
    readme = (REPO_ROOT / "README.md").read_text()
    assert f"```yaml\n{program}```\n" in readme
