"""Migration alone: the runner it starts, what re-runs it, what it waits for."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pulumi
import pulumi_random as random
import pytest

from appstack.common import NetworkAttachment
from appstack.contract import COMMAND
from appstack.migration import Migration, MigrationArgs, runner_command
from appstack.validation import ArgsError
from tests.components.helpers import build, children

ARGS = MigrationArgs(
    image_id="sha256:" + "ab" * 32,
    database_url="postgresql+psycopg://app:pw@qa-db:5432/app",
    network=NetworkAttachment.bridge("shared-net"),
    migration_command=("alembic", "upgrade", "head"),
)


def test_alone_it_runs_this_interpreters_runner_once_per_image() -> None:
    run = build(lambda: pulumi.export("revision", Migration("schema", ARGS).revision))

    assert children(run, run.named("schema")) == {"schema-run": COMMAND}
    step = run.named("schema-run")
    assert step.inputs["create"] == runner_command()
    assert step.inputs["create"].endswith(" -m appstack.migrate")
    assert step.inputs["triggers"] == [ARGS.image_id, '["alembic", "upgrade", "head"]']
    environment = step.inputs["environment"]
    assert environment["APPSTACK_MIGRATION_IMAGE"] == ARGS.image_id
    assert environment["APPSTACK_MIGRATION_NETWORK"] == "shared-net"
    assert json.loads(environment["APPSTACK_REVISION_COMMAND"]) == ["alembic", "current"]
    assert environment["APPSTACK_ENVIRONMENT"] == "qa"
    assert "environment" in step.secret_inputs
    assert run.outputs["revision"] == "0001_initial"


def test_host_networking_runs_the_migration_on_the_host_network() -> None:
    args = MigrationArgs(image_id="img", database_url="x", network=NetworkAttachment.host())
    run = build(lambda: Migration("schema", args))

    assert run.named("schema-run").inputs["environment"]["APPSTACK_MIGRATION_NETWORK"] == "host"


def test_the_components_depends_on_orders_the_migration_step() -> None:
    def program() -> None:
        before = random.RandomPassword("before", length=8)
        Migration("schema", ARGS, pulumi.ResourceOptions(depends_on=[before]))

    run = build(program)

    assert run.named("before").urn in run.named("schema-run").dependencies


def test_the_interpreter_is_named_relative_to_the_project_when_it_lives_inside() -> None:
    project = Path("/srv/shop")
    assert runner_command("/srv/shop/.venv/bin/python", project) == (
        ".venv/bin/python -m appstack.migrate"
    )
    assert runner_command("/opt/py 3/bin/python", project) == (
        "'/opt/py 3/bin/python' -m appstack.migrate"
    )
    assert runner_command(cwd=Path(sys.executable).parent.parent) == (
        f"bin/{Path(sys.executable).name} -m appstack.migrate"
    )


def test_bad_commands_are_refused() -> None:
    args = MigrationArgs(
        image_id="img",
        database_url="x",
        network=NetworkAttachment.host(),
        migration_command="alembic upgrade head",  # type: ignore[arg-type]
        revision_command=(),
    )
    with pytest.raises(ArgsError) as caught:
        build(lambda: Migration("schema", args))

    assert caught.value.problems == [
        "migration_command: expected a list of command arguments, got 'alembic upgrade head'",
        "revision_command: expected a non-empty list of command arguments, got ()",
    ]
