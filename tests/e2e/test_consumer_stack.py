"""A program of its own shape, with only the built wheel installed, deploys on the local Docker.

The README's consumer program (tests/components/consumer: two pgvector databases, Redis, MinIO
with one bucket, no backend) runs from a temporary directory with a fresh virtualenv holding
the wheel and its dependencies (the fixtures of tests/components/test_consumer.py), under the
real CLI, language host and plugins, with the local images. Pulumi's dynamic-provider process
imports `appstack.pgvector` and `appstack.bucket` from that virtualenv, nothing from the checkout.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.components.test_consumer import consumer, consumer_python, wheel
from tests.e2e.platform import DeployedStack, containers_of, inspect
from tests.engine.harness import new_project

pytestmark = [pytest.mark.real, pytest.mark.e2e, pytest.mark.install]

__all__ = ["consumer", "consumer_python", "wheel"]  # the fixtures this module uses

STACK = "libe2e"
BASE_PORT = 31000
CONTAINERS = [f"{STACK}-{name}" for name in ("orders", "search", "cache", "files")]
IMAGES = {
    "database": "pgvector/pgvector:pg18-appstack",
    "cache": "appstack/redis:7-bookworm",
    "objectStore": "appstack/minio:DEVELOPMENT.2026-02-12T20-18-48Z",
}


@pytest.fixture(scope="module")
def deployed(
    consumer: Path, consumer_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DeployedStack]:
    """The consumer project on its own file backend, its virtualenv the wheel's."""
    project = new_project(tmp_path_factory.mktemp("consumer-e2e"), "search-platform", "")
    for item in consumer.iterdir():
        if item.is_file():
            shutil.copy2(item, project.directory / item.name)
    definition = yaml.safe_load((consumer / "Pulumi.yaml").read_text())
    definition["runtime"]["options"]["virtualenv"] = str(consumer_python.parent.parent)
    (project.directory / "Pulumi.yaml").write_text(yaml.safe_dump(definition, sort_keys=False))
    config = {"search-platform:basePort": BASE_PORT, "search-platform:images": IMAGES}
    (project.directory / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump({"config": config}))
    project.require_engine()
    project.run("stack", "init", STACK)
    stack = DeployedStack(project, STACK)
    try:
        yield stack
    finally:
        stack.tear_down()


def test_the_consumer_program_deploys_from_the_installed_wheel(deployed: DeployedStack) -> None:
    run = deployed.pulumi("up", "--yes", "--skip-preview", timeout=600)
    assert " created" in run.output, run.output
    deployed.wait_healthy(CONTAINERS, timeout=10)
    for name in CONTAINERS:
        info = inspect(name)
        assert info is not None and info["HostConfig"]["NetworkMode"] == "host", name

    outputs = deployed.outputs()
    assert outputs["pgvector"], outputs
    assert outputs["orders"].startswith("postgresql://") and f":{BASE_PORT}/" in outputs["orders"]
    assert outputs["buckets"] == {"uploads": f"{STACK}-files-uploads"}
    endpoint = outputs["s3"]
    assert endpoint == f"127.0.0.1:{BASE_PORT + 3}"
    # The dynamic providers ran from the consumer's virtualenv: the bucket is really there.
    state = json.loads(deployed.export())["deployment"]["resources"]
    bucket = next(r for r in state if r["type"].endswith("dynamic/appstack:Bucket"))
    assert bucket["outputs"]["bucket_name"] == f"{STACK}-files-uploads"

    deployed.pulumi("preview", "--expect-no-changes", timeout=300)
    deployed.pulumi("destroy", "--yes", timeout=600)
    assert containers_of(STACK) == []
