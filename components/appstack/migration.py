"""Migration: the one-shot job that brings the schema to head before the backend starts.

Creates one `command:local:Command` that runs `python3 -m components.migrate`, which starts the
backend image with its migration command (default `alembic upgrade head`) against the database,
after the pgvector step succeeded. It is replaced, and so re-run, exactly when the backend image
id or the migration command changes (`triggers`); a no-op `pulumi up` runs nothing. The DSN is
passed through the environment as a secret and scrubbed from the output; a failure fails the
deployment with the tail of the migration log, and the backend, which depends on this step, is
left as it was.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_command as command

from components.migrate import REVISION_MARKER
from components.settings import Settings


def revision_from_stdout(stdout: str) -> str:
    """The revision the runner printed on its last line."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(REVISION_MARKER):
            return line[len(REVISION_MARKER) :].strip()
    return ""


class Migration(pulumi.ComponentResource):
    """Runs the backend image's migrations once per image."""

    revision: pulumi.Output[str]
    run: command.local.Command

    def __init__(
        self,
        name: str,
        settings: Settings,
        image_id: pulumi.Input[str],
        database_url: pulumi.Input[str],
        network_name: pulumi.Input[str] | None,
        depends_on: Sequence[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("appstack:index:Migration", name, None, opts)
        migration_command = json.dumps(list(settings.backend.migration_command))
        revision_command = json.dumps(list(settings.backend.revision_command))
        network = network_name if settings.network.mode == "bridge" else "host"
        self.run = command.local.Command(
            f"{name}-run",
            create="python3 -m components.migrate",
            environment={
                "APPSTACK_ENVIRONMENT": settings.environment,
                "APPSTACK_MIGRATION_IMAGE": image_id,
                "APPSTACK_MIGRATION_NETWORK": network or "host",
                "APPSTACK_MIGRATION_COMMAND": migration_command,
                "APPSTACK_REVISION_COMMAND": revision_command,
                "DATABASE_URL": pulumi.Output.secret(database_url),
            },
            triggers=[image_id, migration_command],
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
        )
        self.revision = self.run.stdout.apply(revision_from_stdout)
        self.register_outputs({"revision": self.revision})
