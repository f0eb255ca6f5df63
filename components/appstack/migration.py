"""Migration: the one-shot job that brings the schema to head before the backend starts.

Creates one `command:local:Command` that runs `<python> -m appstack.migrate` with the interpreter
the program runs under (so the runner is the installed package's, wherever the program is), which
starts the backend image with its migration command (default `alembic upgrade head`) against the
database. The component's `depends_on` (the database's pgvector check) is passed on to that
command. It is replaced, and so re-run, exactly when the image id or the migration command
changes (`triggers`); a no-op `pulumi up` runs nothing. The DSN is passed through the environment
as a secret and scrubbed from the output; a failure fails the deployment with the tail of the
migration log, and the backend, which depends on this step, is left as it was.
"""

import json
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_command as command

from appstack import common
from appstack.contract import component_type
from appstack.defaults import section
from appstack.docker_target import DockerTarget, runner_environment
from appstack.migrate import REVISION_MARKER
from appstack.validation import ENVIRONMENT, Problems

_DEFAULTS = section("backend")


def revision_from_stdout(stdout: str) -> str:
    """The revision the runner printed on its last line."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(REVISION_MARKER):
            return line[len(REVISION_MARKER) :].strip()
    return ""


def runner_command(executable: str | None = None, cwd: Path | None = None) -> str:
    """The shell command that runs `appstack.migrate` with this program's interpreter.

    The interpreter is given relative to the working directory when it lives below it (a project's
    own virtualenv, `.venv/bin/python`): the command then reads the same on every machine that
    lays the project out alike, and a no-op `up` from another checkout changes nothing.
    Pulumi runs the program and the command provider in the project directory, so the relative
    path names the same interpreter for both.
    """
    interpreter = Path(executable or sys.executable)
    base = cwd or Path.cwd()
    if interpreter.is_relative_to(base):
        shown = os.path.relpath(interpreter, base)
    else:
        shown = str(interpreter)
    return f"{shlex.quote(shown)} -m appstack.migrate"


@dataclass(kw_only=True)
class MigrationArgs:
    """The image whose migrations run, the database they run against, and the commands."""

    image_id: pulumi.Input[str]
    """The backend image id to run the migration in; a new id re-runs it."""
    database_url: pulumi.Input[str]
    """The database URL as the migration container reaches it (made secret here)."""
    network: common.NetworkAttachment
    """How the migration container is attached: the database's network."""
    migration_command: Sequence[str] = tuple(_DEFAULTS["migrationCommand"])
    """The migration command run in the image. Plain: a changed command re-runs it (triggers)."""
    revision_command: Sequence[str] = tuple(_DEFAULTS["revisionCommand"])
    """The command that prints the revision reached, e.g. `alembic current`."""
    environment: str | None = None
    """The environment label of the migration container; default: the stack name."""
    docker: DockerTarget | None = None
    """The engine the migration container runs on: the stack's (the one its Docker provider
    talks to). None: the local engine. The runner's `docker` CLI is pointed at it."""


class Migration(pulumi.ComponentResource):
    """Runs the backend image's migrations once per image."""

    revision: pulumi.Output[str]
    """The schema revision the migration reached."""

    def __init__(
        self, name: str, args: MigrationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        problems = Problems(f"Migration {name!r}")
        environment = args.environment or pulumi.get_stack()
        problems.matches("environment", environment, ENVIRONMENT, "an environment name")
        if not isinstance(args.network, common.NetworkAttachment):
            problems.bad("network", "a NetworkAttachment", args.network)
        if args.docker is not None and not isinstance(args.docker, DockerTarget):
            problems.bad("docker", "a DockerTarget or None", args.docker)
        problems.argv("migration_command", args.migration_command)
        problems.argv("revision_command", args.revision_command)
        problems.raise_if_any()

        super().__init__(component_type("Migration"), name, None, opts)
        migration_command = json.dumps(list(args.migration_command))
        revision_command = json.dumps(list(args.revision_command))
        network = args.network.bridge_network
        # The migration step: depend on it to start after the schema is at head.
        self.run: command.local.Command = command.local.Command(
            f"{name}-run",
            create=runner_command(),
            environment={
                "APPSTACK_ENVIRONMENT": environment,
                "APPSTACK_MIGRATION_IMAGE": args.image_id,
                "APPSTACK_MIGRATION_NETWORK": "host" if network is None else network,
                "APPSTACK_MIGRATION_COMMAND": migration_command,
                "APPSTACK_REVISION_COMMAND": revision_command,
                "DATABASE_URL": pulumi.Output.secret(args.database_url),
                **runner_environment(args.docker),
            },
            triggers=[args.image_id, migration_command],
            opts=common.child_dependencies(self, opts),
        )
        self.revision = self.run.stdout.apply(revision_from_stdout)
        self.register_outputs({"revision": self.revision})
