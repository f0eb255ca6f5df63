"""Database: PostgreSQL with pgvector, verified live by the deployment itself.

Creates the pinned image (`RemoteImage`), the data volume (`{container}-data`, protected and kept
on delete where the Args say so), a generated password (secret), the container (default
`{environment}-{name}`) with a `pg_isready` health check over TCP and a wait until healthy, and
the `PgvectorExtension` step that connects, ensures `CREATE EXTENSION vector` and fails with a
clear message on an image without pgvector. Nothing downstream runs before that step succeeds:
depend on `ready`.
"""

from dataclasses import dataclass
from typing import Protocol

import pulumi
import pulumi_docker as docker

from appstack import common
from appstack.contract import component_type
from appstack.defaults import section
from appstack.pgvector import PgvectorExtension, PgvectorExtensionArgs
from appstack.validation import SQL_IDENTIFIER, Problems

STANDARD_PORT = 5432
DATA_PATH = "/var/lib/postgresql/data"
_DEFAULTS = section("database")


@dataclass(kw_only=True)
class DatabaseArgs(common.StatefulContainerArgs):
    """PostgreSQL with pgvector: image, port, database and role, and how long to wait for it."""

    image: str = _DEFAULTS["image"]
    """A pgvector PostgreSQL image reference (pinned by digest in production).

    Plain, never an Output: the policy pack must read it at preview, before anything runs, to
    refuse a PostgreSQL image without pgvector (the `postgres:15-alpine` incident) and an
    unpinned one in production. An Output would be unknown then, and refused as such.
    """
    port: pulumi.Input[int] = _DEFAULTS["port"]
    """The host port (published on the bind address, or listened on with host networking)."""
    database_name: pulumi.Input[str] = _DEFAULTS["name"]
    """The database created on first start."""
    user: pulumi.Input[str] = _DEFAULTS["user"]
    """The superuser role created on first start."""
    connect_timeout_seconds: pulumi.Input[int] = _DEFAULTS["connectTimeoutSeconds"]
    """How long the pgvector check waits for the server to accept connections."""


class _DatabaseFields(Protocol):
    """What a database component's Args hold, read-only (Docker and Kubernetes Args alike)."""

    @property
    def image(self) -> str: ...
    @property
    def port(self) -> object: ...
    @property
    def database_name(self) -> object: ...
    @property
    def user(self) -> object: ...
    @property
    def connect_timeout_seconds(self) -> object: ...


def check_database_fields(problems: Problems, args: _DatabaseFields) -> None:
    """The checks every database component's Args share (Docker and Kubernetes alike)."""
    problems.image("image", args.image)
    problems.port("port", args.port)
    for key in ("database_name", "user"):
        problems.matches(key, getattr(args, key), SQL_IDENTIFIER, "a lower-case SQL identifier")
    problems.integer("connect_timeout_seconds", args.connect_timeout_seconds, 1, 3600)


class Database(pulumi.ComponentResource):
    """PostgreSQL + pgvector, its data volume and its generated password."""

    host: pulumi.Output[str]
    """The address the deploying machine reaches the database on."""
    port: pulumi.Output[int]
    database_name: pulumi.Output[str]
    user: pulumi.Output[str]
    password: pulumi.Output[str]
    """The generated password (secret)."""
    dsn: pulumi.Output[str]
    """`postgresql://` URL from the deploying machine (secret)."""
    internal_dsn: pulumi.Output[str]
    """`postgresql+psycopg://` URL from other containers on the same network (secret)."""
    container_name: pulumi.Output[str]
    pgvector_version: pulumi.Output[str]
    server_version: pulumi.Output[str]

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        problems = Problems(f"Database {name!r}")
        ident = common.identify(name, args, problems)
        check_database_fields(problems, args)
        problems.raise_if_any()

        super().__init__(component_type("Database"), name, None, opts)
        where = common.placement(args.network, ident.container_name, STANDARD_PORT, args.port)
        image = common.remote_image(f"{name}-image", args.image, self)
        volume = common.data_volume(f"{name}-data", ident, "database-data", args, self)
        password = common.generated_secret(f"{name}-password", 32, self)
        secret_password = common.secret(password.result)
        envs = pulumi.Output.all(
            secret_password, args.user, args.database_name, where.internal_port
        ).apply(
            lambda values: [
                f"POSTGRES_USER={values[1]}",
                f"POSTGRES_PASSWORD={values[0]}",
                f"POSTGRES_DB={values[2]}",
                f"PGPORT={values[3]}",
                f"PGDATA={DATA_PATH}/pgdata",
            ]
        )
        health = 'pg_isready -q -h 127.0.0.1 -p "$PGPORT" -U "$POSTGRES_USER" -d "$POSTGRES_DB"'
        container = common.service_container(
            f"{name}-container",
            ident,
            args,
            common.ServiceSpec(
                role="database",
                image_reference=args.image,
                health_test=["CMD-SHELL", health],
                published=[(STANDARD_PORT, args.port)],
                command=["postgres", "-c", f"listen_addresses={where.listen_address}"],
                volumes=[
                    docker.ContainerVolumeArgs(volume_name=volume.name, container_path=DATA_PATH)
                ],
            ),
            image.image_id,
            envs,
            pulumi.ResourceOptions(parent=self),
        )
        check = PgvectorExtension(
            f"{name}-pgvector",
            PgvectorExtensionArgs(
                host=where.host_address,
                port=where.host_port,
                database=args.database_name,
                user=args.user,
                password=secret_password,
                image=args.image,
                connect_timeout_seconds=args.connect_timeout_seconds,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[container]),
        )

        self.host = pulumi.Output.from_input(where.host_address)
        self.port = pulumi.Output.from_input(where.host_port)
        self.database_name = pulumi.Output.from_input(args.database_name)
        self.user = pulumi.Output.from_input(args.user)
        self.password = secret_password
        self.dsn = common.secret(
            pulumi.Output.concat(
                "postgresql://",
                args.user,
                ":",
                password.result,
                "@",
                where.host_endpoint,
                "/",
                args.database_name,
            )
        )
        self.internal_dsn = common.secret(
            pulumi.Output.concat(
                "postgresql+psycopg://",
                args.user,
                ":",
                password.result,
                "@",
                where.internal_endpoint,
                "/",
                args.database_name,
            )
        )
        self.container_name = container.name
        self.pgvector_version = check.extension_version
        self.server_version = check.server_version
        self.ready: pulumi.Resource = check
        """The pgvector check: depend on it to run after the database is up with pgvector."""
        self.register_outputs(
            {
                "host": self.host,
                "port": self.port,
                "databaseName": self.database_name,
                "user": self.user,
                "dsn": self.dsn,
                "pgvectorVersion": self.pgvector_version,
                "serverVersion": self.server_version,
            }
        )
