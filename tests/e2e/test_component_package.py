"""appstack's component package used from a Pulumi YAML program, under the real engine.

The program tests/e2e/yaml_program/Pulumi.yaml (the one README's "From other languages"
shows) adds the package with `pulumi package add <checkout>/provider` and deploys a Database, a
Cache and an ObjectStore with one bucket on the local Docker engine. Pulumi's YAML language host
(`toolchain/build.sh yaml`) runs the program; Pulumi's Python language host runs the component
provider (provider/__main__.py) in the checkout's virtualenv; the pgvector check and the bucket
run in the engine's Python dynamic-provider process, which is started with the YAML project's
runtime, so `PULUMI_PYTHON_CMD` names the interpreter that has appstack. Containers use host
networking on 127.0.0.1 with ports (474xx, 479xx) and names (stacks `xlang`, `xlang-plain`) of
their own, removed at the end, also on failure.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from minio import Minio

from appstack.contract import (
    BUCKET,
    CONTAINER,
    NETWORK,
    PGVECTOR_EXTENSION,
    RANDOM_PASSWORD,
    REMOTE_IMAGE,
    VOLUME,
    component_type,
)
from tests.engine.harness import PASSPHRASE, REPO_ROOT, VENV, PulumiProject, engine_env

pytestmark = [pytest.mark.real, pytest.mark.e2e]

PROGRAM = Path(__file__).resolve().parent / "yaml_program" / "Pulumi.yaml"
PROVIDER = REPO_ROOT / "provider"
STACK = "xlang"
PLAIN_STACK = "xlang-plain"
PLAIN_PORT = 47433
PLAIN_IMAGE = "postgres:15-bookworm-appstack"
"""Debian's PostgreSQL 15 without pgvector (images/build.sh)."""
CONTAINERS = ("database", "cache", "files")
"""The program's components, each running one container `{stack}-{name}`."""
VOLUMES = ("database-data", "files-data")
DOCKER_TIMEOUT_SECONDS = 60


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=DOCKER_TIMEOUT_SECONDS
    )
    if check:
        assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr}"
    return done


def remove_docker_objects(stack: str) -> None:
    """The containers and volumes a stack of the program runs (names only this test uses)."""
    for name in CONTAINERS:
        docker("rm", "--force", f"{stack}-{name}", check=False)
    for name in VOLUMES:
        docker("volume", "rm", f"{stack}-{name}", check=False)


def yaml_project(base: Path, program: str) -> PulumiProject:
    """The YAML program in `base`, on a file backend of its own, with the toolchain's CLI."""
    env, missing = engine_env()
    bin_dir = Path(env.get("PATH", "").split(":", 1)[0])
    if missing is None and not os.access(bin_dir / "pulumi-language-yaml", os.X_OK):
        missing = (
            f"{bin_dir / 'pulumi-language-yaml'} is missing: build it with "
            "`bash toolchain/build.sh yaml` (part of `make toolchain`)"
        )
    if missing is None and docker("info", check=False).returncode != 0:
        missing = "the local Docker engine does not answer `docker info`"
    directory, backend = base / "project", base / "backend"
    directory.mkdir()
    backend.mkdir()
    (directory / "Pulumi.yaml").write_text(program)
    env.update(
        PULUMI_BACKEND_URL=f"file://{backend}",
        PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
        # The dynamic-provider process (the pgvector check) runs this interpreter.
        PULUMI_PYTHON_CMD=str(VENV / "bin" / "python"),
    )
    env.pop("PYTHONPATH", None)
    env.pop("PULUMI_ACCESS_TOKEN", None)
    return PulumiProject(directory, backend, env, missing)


def add_package(project: PulumiProject) -> None:
    """`pulumi package add <checkout>/provider`, and what it records in Pulumi.yaml."""
    added = project.run("package", "add", str(PROVIDER))
    assert "Added package appstack" in added.output
    assert f"packages:\n  appstack: {PROVIDER}\n" in (project.directory / "Pulumi.yaml").read_text()


@contextmanager
def deployment(base: Path, program: str, stack: str) -> Iterator[PulumiProject]:
    """`program` as a project for `stack`; destroyed at the end, also on failure."""
    remove_docker_objects(stack)
    project = yaml_project(base, program)
    project.require_engine()
    try:
        yield project
    finally:
        if any(run.args[0] == "up" for run in project.runs):
            project.run("destroy", "--yes", "--stack", stack, ok=None)
        remove_docker_objects(stack)
        print(f"pulumi command timings: {project.timings()}")


@pytest.fixture()
def deployed(tmp_path: Path) -> Iterator[PulumiProject]:
    """The README's YAML program."""
    with deployment(tmp_path, PROGRAM.read_text(), STACK) as project:
        yield project


def _children(state: dict[str, Any], parent_urn: str) -> dict[str, str]:
    resources = state["checkpoint"]["latest"]["resources"]
    return {
        resource["urn"].rsplit("::", 1)[1]: resource["type"]
        for resource in resources
        if resource.get("parent") == parent_urn
    }


def container_env(name: str) -> dict[str, str]:
    """A container's environment (read here, never printed)."""
    lines = docker("inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", name)
    return dict(line.split("=", 1) for line in lines.stdout.splitlines() if "=" in line)


def test_a_yaml_program_adds_the_package_and_deploys_its_components(
    deployed: PulumiProject,
) -> None:
    project = deployed
    add_package(project)
    project.run("stack", "init", STACK)

    project.run("up", "--yes", "--stack", STACK)

    outputs = project.outputs(STACK)
    assert outputs["database"] == f"{STACK}-database"
    assert outputs["serverVersion"].startswith("18")
    assert outputs["s3"] == "127.0.0.1:47900"
    assert outputs["buckets"] == {"uploads": f"{STACK}-files-uploads"}
    assert outputs["dsn"] == outputs["cache"] == "[secret]"
    for name in CONTAINERS:
        inspected = docker(
            "inspect",
            "--format",
            "{{.State.Health.Status}} {{.HostConfig.NetworkMode}} "
            '{{index .Config.Labels "appstack.environment"}}',
            f"{STACK}-{name}",
        )
        assert inspected.stdout.split() == ["healthy", "host", STACK], name

    # The extension really is there, at the version the check reported.
    installed = docker(
        "exec",
        f"{STACK}-database",
        "psql",
        "-U",
        "appstack",
        "-d",
        "appstack",
        "-tAc",
        "SELECT extversion FROM pg_extension WHERE extname = 'vector'",
    )
    assert installed.stdout.strip() == outputs["pgvectorVersion"] != ""
    # maxMemoryMb: 64 reached Redis (a whole number, sent as a float, taken as an int).
    memory = docker(
        "exec", f"{STACK}-cache", "sh", "-c", 'redis-cli -p "$REDIS_PORT" config get maxmemory'
    )
    assert memory.stdout.split() == ["maxmemory", str(64 * 1024 * 1024)]
    # The bucket exists with its lifecycle, read back from MinIO itself.
    env = container_env(f"{STACK}-files")
    client = Minio(outputs["s3"], env["MINIO_ROOT_USER"], env["MINIO_ROOT_PASSWORD"], secure=False)
    assert client.bucket_exists(f"{STACK}-files-uploads")
    lifecycle = client.get_bucket_lifecycle(f"{STACK}-files-uploads")
    assert lifecycle is not None
    assert {
        (rule.rule_id, rule.expiration.days if rule.expiration else None)
        for rule in lifecycle.rules
    } == {("expire-objects", 7)}

    # The components the provider built are the Python ones: same types, same children.
    state = project.state(STACK)
    resources = state["checkpoint"]["latest"]["resources"]
    components = [r["urn"] for r in resources if r["type"] == component_type("Database")]
    assert components == [
        f"urn:pulumi:{STACK}::appstack-xlang::{component_type('Database')}::database"
    ]
    assert _children(state, components[0]) == {
        "database-image": REMOTE_IMAGE,
        "database-data": VOLUME,
        "database-password": RANDOM_PASSWORD,
        "database-container": CONTAINER,
        "database-pgvector": PGVECTOR_EXTENSION,
    }
    assert [r["type"] for r in resources].count(BUCKET) == 1

    project.run("preview", "--expect-no-changes", "--stack", STACK)

    project.run("destroy", "--yes", "--stack", STACK)
    for name in CONTAINERS:
        assert docker("inspect", f"{STACK}-{name}", check=False).returncode != 0, name
    for name in VOLUMES:
        assert docker("volume", "inspect", f"{STACK}-{name}", check=False).returncode != 0, name


def database_only(image: str, port: int) -> str:
    """The program's Database alone, on `image` and `port`."""
    program = yaml.safe_load(PROGRAM.read_text())
    database = program["resources"]["database"]
    database["properties"].update(image=image, port=port)
    program["resources"] = {"database": database}
    program["outputs"] = {"pgvectorVersion": "${database.pgvectorVersion}"}
    return str(yaml.safe_dump(program, sort_keys=False))


@pytest.fixture()
def plain(tmp_path: Path) -> Iterator[PulumiProject]:
    """The program's Database on an image without pgvector, on a port of its own."""
    with deployment(tmp_path, database_only(PLAIN_IMAGE, PLAIN_PORT), PLAIN_STACK) as project:
        yield project


def test_bad_inputs_and_an_image_without_pgvector_fail_as_in_python(plain: PulumiProject) -> None:
    project = plain
    add_package(project)
    project.run("stack", "init", PLAIN_STACK)

    # The component's own validation, through the provider: every number arrives as a float.
    program = project.directory / "Pulumi.yaml"
    text = program.read_text()
    program.write_text(database_only(PLAIN_IMAGE, 70000) + text[text.index("packages:") :])
    refused = project.run("preview", "--stack", PLAIN_STACK, ok=False)
    assert "invalid arguments for Database 'database'" in refused.output
    assert "port: expected an integer from 1 to 65535, got 70000" in refused.output
    program.write_text(text)

    # The live pgvector check stops the update with its message.
    failed = project.run("up", "--yes", "--stack", PLAIN_STACK, ok=False)
    assert f"The database image '{PLAIN_IMAGE}' does not provide the pgvector extension" in (
        failed.output
    )
    assert "pgvectorVersion" not in project.outputs(PLAIN_STACK)


NETWORKED = """name: appstack-xlang-network
runtime: yaml
resources:
  net:
    type: appstack:Network
  database:
    type: appstack:Database
    properties:
      network:
        bridgeNetwork: ${net.networkName}
      image: pgvector/pgvector:pg18-appstack
      port: 47434
"""


def test_a_network_output_attaches_the_database_at_preview(tmp_path: Path) -> None:
    """An output inside a nested input reaches the component as an Output, not as nothing.

    (The host turns a nested input that arrives whole as an Output into {}: host networking.)
    Preview only: nothing is created, so no container joins a bridge network here.
    """
    project = yaml_project(tmp_path, NETWORKED)
    project.require_engine()
    add_package(project)
    project.run("stack", "init", "xlang-net")

    preview = project.run("preview", "--json", "--stack", "xlang-net")

    steps = json.loads(preview.output)["steps"]
    planned = {step["newState"]["type"]: step["newState"].get("inputs", {}) for step in steps}
    assert planned[NETWORK]["name"] == "xlang-net-net"
    container = planned[CONTAINER]
    assert "networkMode" not in container or container["networkMode"] != "host"
    assert [(n["name"], n["aliases"]) for n in container["networksAdvanced"]] == [
        ("xlang-net-net", ["xlang-net-database"])
    ]
    assert [(p["ip"], p["internal"], p["external"]) for p in container["ports"]] == [
        ("127.0.0.1", 5432, 47434)
    ]
