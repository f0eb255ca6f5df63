"""backend_image and Backend alone: the image it runs, the build it hashes, its wiring and order."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pulumi
import pulumi_random as random
import pytest

from appstack.backend import Backend, BackendArgs, BackendImageArgs, backend_image, source_hash
from appstack.common import NetworkAttachment
from appstack.contract import CONTAINER, UNKNOWN
from appstack.validation import ArgsError
from tests.components.helpers import build, children, envs, labels

BRIDGE = NetworkAttachment.bridge("shared-net")
PINNED = "registry.example.com/shop/api@sha256:" + "cd" * 32


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A project directory with a build context `api/`, as the working directory of a program."""
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "api" / "main.py").write_text("print('v1')\n")
    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(previous)


def test_a_configured_reference_is_used_as_it_is() -> None:
    run = build(lambda: backend_image("api-image", BackendImageArgs(reference=PINNED)))

    image = run.named("api-image")
    assert image.inputs == {"name": PINNED, "keepLocally": True}


def test_a_build_hashes_exactly_the_directory_it_builds(project: Path) -> None:
    args = BackendImageArgs(
        build_context="api", base_image="python:3.12-slim", build_network="host"
    )
    first = build(lambda: backend_image("api-image", args)).named("api-image")

    assert first.inputs["name"] == "qa-api-image:local"
    assert first.inputs["build"]["networkMode"] == "host"
    assert first.inputs["build"]["context"] == "api"
    assert first.inputs["build"]["buildArgs"] == {"BASE_IMAGE": "python:3.12-slim"}
    assert first.inputs["triggers"] == {"source": source_hash(project / "api")}

    (project / "api" / ".ruff_cache").mkdir()
    (project / "api" / ".ruff_cache" / "CACHEDIR.TAG").write_text("left by a linter\n")
    assert source_hash(project / "api") == first.inputs["triggers"]["source"]

    (project / "api" / "main.py").write_text("print('v2')\n")
    (project / "elsewhere.py").write_text("outside the context\n")
    second = build(lambda: backend_image("api-image", args)).named("api-image")
    assert second.inputs["triggers"]["source"] != first.inputs["triggers"]["source"]
    assert second.inputs["triggers"] == {"source": source_hash(project / "api")}


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (BackendImageArgs(), "reference/build_context: expected exactly one"),
        (
            BackendImageArgs(reference=PINNED, build_context="api"),
            "reference/build_context: expected exactly one",
        ),
        (BackendImageArgs(build_context="missing"), r"build_context: .*\(no such directory\)"),
        (BackendImageArgs(build_context="../api"), r"build_context: .*\(no \.\.\)"),
        (BackendImageArgs(build_context="/srv/api"), r"build_context: .*not an absolute path"),
        (BackendImageArgs(reference="Bad Ref"), "reference: expected a well-formed image"),
        (
            BackendImageArgs(build_context="api", build_network="bridge"),  # type: ignore[arg-type]
            'build_network: expected "default" or "host" or "none"',
        ),
    ],
)
def test_a_bad_image_is_refused(project: Path, args: BackendImageArgs, problem: str) -> None:
    with pytest.raises(ArgsError, match=problem):
        build(lambda: backend_image("api-image", args))


def backend(**changes: object) -> None:
    image = backend_image("api-image", BackendImageArgs(reference=PINNED))
    args = BackendArgs(network=BRIDGE, image=image, **changes)  # type: ignore[arg-type]
    pulumi.export("url", Backend("api", args).url)


def test_alone_it_runs_the_image_with_the_given_environment_read_only() -> None:
    run = build(
        lambda: backend(
            environment_variables={"DATABASE_URL": pulumi.Output.secret("postgresql://x")},
            cors_origins=("https://shop.example.com",),
            port=18080,
        )
    )

    assert children(run, run.named("api")) == {"api-container": CONTAINER}
    container = run.named("api-container")
    assert container.inputs["name"] == "qa-api"
    assert container.inputs["image"].startswith("sha256:")
    assert run.named("api-image").urn in container.dependencies
    assert labels(container) == {
        "appstack.role": "backend",
        "appstack.environment": "qa",
        "appstack.image": PINNED,
    }
    variables = envs(container)
    assert variables["DATABASE_URL"] == "postgresql://x"
    assert variables["CORS_ORIGINS"] == "https://shop.example.com"
    assert (variables["PORT"], variables["HOST"]) == ("8000", "0.0.0.0")
    assert variables["PYTHONDONTWRITEBYTECODE"] == "1"
    assert "envs" in container.secret_inputs
    assert container.inputs["readOnly"] is True
    assert container.inputs["ports"] == [{"internal": 8000, "external": 18080, "ip": "127.0.0.1"}]
    probe = container.inputs["healthcheck"]["tests"]
    assert probe[:3] == ["CMD", "python3", "-c"]
    assert probe[4] == "http://127.0.0.1:8000/health"  # data for the fixed probe, never code
    assert run.outputs["url"] == "http://127.0.0.1:18080"


def test_the_components_depends_on_orders_the_container() -> None:
    def program() -> None:
        migration = random.RandomPassword("migration", length=8)
        image = backend_image("api-image", BackendImageArgs(reference=PINNED))
        args = BackendArgs(network=BRIDGE, image=image)
        Backend("api", args, pulumi.ResourceOptions(depends_on=[migration]))

    run = build(program)

    assert run.named("migration").urn in run.named("api-container").dependencies


def test_the_image_label_is_plain_at_preview() -> None:
    run = build(backend, preview=True)

    container = run.named("api-container")
    assert container.inputs.get("image", UNKNOWN) is UNKNOWN
    assert labels(container)["appstack.image"] == PINNED


def test_bad_args_are_reported_at_once() -> None:
    with pytest.raises(ArgsError) as caught:
        build(lambda: backend(cors_origins=("localhost:3000",), health_path="health", port=70000))

    assert [problem.split(":")[0] for problem in caught.value.problems] == [
        "port",
        "cors_origins[0]",
        "health_path",
    ]
