"""The dev path under the real engine: the program builds the backend from app/ itself.

A stack like `dev` (image tags, no `backend.image`) whose backend image is the `RemoteImage` build
of the project's `app/`, on the local Python base image with the offline wheels (`app/wheels`)
and `backend.buildNetwork: none`, which also works on an engine started without a default bridge
(as `scripts/dockerd.sh` starts it). Host networking on loopback ports of its own. An edit under
`app/` rebuilds the image, re-runs the migration and replaces the backend; an unchanged tree
changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.platform import (
    DeployedStack,
    containers_of,
    docker,
    http_status,
    inspect,
    new_stack,
)

pytestmark = [pytest.mark.real, pytest.mark.e2e]

STACK = "dev"
CONTAINERS = [f"{STACK}-{role}" for role in ("database", "cache", "objectstore", "backend")]
CONFIG = {
    "appstack:network": {"mode": "host", "bindAddress": "127.0.0.1"},
    "appstack:database": {"image": "pgvector/pgvector:pg18-appstack", "port": 35432},
    "appstack:cache": {"image": "appstack/redis:7-bookworm", "port": 36379},
    "appstack:objectStore": {
        "image": "appstack/minio:DEVELOPMENT.2026-02-12T20-18-48Z",
        "port": 39000,
        "consolePort": 39001,
    },
    "appstack:backend": {
        "image": "",
        "baseImage": "appstack/python:3.11-bookworm",
        "buildNetwork": "none",
        "port": 38000,
    },
}
BUILT_IMAGE = "dev-appstack-backend:local"


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedStack]:
    stack = new_stack(tmp_path_factory.mktemp("e2e-dev"), STACK, CONFIG)
    if not (stack.directory / "app" / "wheels").is_dir():
        pytest.fail("app/wheels is missing: run images/build.sh backend first", pytrace=False)
    try:
        yield stack
    finally:
        stack.tear_down()
        docker("rmi", "--force", BUILT_IMAGE, check=False)


def image_id(reference: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", reference)


def test_the_program_builds_the_backend_and_reaches_healthy(dev: DeployedStack) -> None:
    dev.up()
    dev.wait_healthy(CONTAINERS, timeout=10)
    outputs = dev.outputs()
    assert outputs["backend"]["image"] == BUILT_IMAGE
    info = inspect(f"{STACK}-backend")
    assert info is not None and info["Image"] == image_id(BUILT_IMAGE)
    assert outputs["migration"]["revision"] == "0001"
    assert http_status(f"{outputs['backend']['url']}{outputs['backend']['healthPath']}") == 200
    dev.pulumi("preview", "--expect-no-changes", timeout=300)


def test_an_edit_under_app_rebuilds_and_reruns_the_migration(dev: DeployedStack) -> None:
    before_image = image_id(BUILT_IMAGE)
    before_container = inspect(f"{STACK}-backend")
    assert before_container is not None
    source = dev.directory / "app" / "appstack_backend" / "main.py"
    source.write_text(source.read_text() + "\n# an edit the deployment must ship\n")

    steps = dev.changed_steps()
    assert steps.get("appstack-backend-image") == "replace", steps
    assert steps.get("appstack-migration-run") == "replace", steps
    assert steps.get("appstack-backend-container") == "replace", steps

    dev.up()
    assert image_id(BUILT_IMAGE) != before_image
    after = inspect(f"{STACK}-backend")
    assert after is not None and after["Id"] != before_container["Id"]
    assert after["Image"] == image_id(BUILT_IMAGE)
    dev.wait_healthy([f"{STACK}-backend"], timeout=10)


def test_an_unchanged_tree_changes_nothing(dev: DeployedStack) -> None:
    image = image_id(BUILT_IMAGE)
    dev.pulumi("preview", "--expect-no-changes", timeout=300)
    run = dev.up()
    assert "unchanged" in run.output and " created" not in run.output, run.output
    assert image_id(BUILT_IMAGE) == image


def test_destroy_removes_the_dev_stack(dev: DeployedStack) -> None:
    dev.pulumi("destroy", "--yes", timeout=600)
    assert containers_of(STACK) == []
