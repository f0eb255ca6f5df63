"""Database: PostgreSQL with pgvector, verified live by the deployment itself.

Creates the pinned image (`RemoteImage`), the data volume `{env}-database-data` (protected and
kept on delete where the stack says so), a generated password (secret), the container
`{env}-database` with a `pg_isready` health check over TCP and a wait until healthy, and the
`PgvectorExtension` step that connects, ensures `CREATE EXTENSION vector` and fails with a clear
message on an image without pgvector. Nothing downstream runs before that step succeeds.
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components import common
from components.pgvector import PgvectorExtension, PgvectorExtensionArgs
from components.settings import Settings

STANDARD_PORT = 5432
DATA_PATH = "/var/lib/postgresql/data"


class Database(pulumi.ComponentResource):
    """PostgreSQL + pgvector for one environment."""

    host: pulumi.Output[str]
    port: pulumi.Output[int]
    database_name: pulumi.Output[str]
    user: pulumi.Output[str]
    password: pulumi.Output[str]
    dsn: pulumi.Output[str]
    internal_dsn: pulumi.Output[str]
    container_name: pulumi.Output[str]
    pgvector_version: pulumi.Output[str]
    server_version: pulumi.Output[str]
    ready: pulumi.Resource

    def __init__(
        self,
        name: str,
        settings: Settings,
        network_name: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("appstack:index:Database", name, None, opts)
        db = settings.database
        where = common.placement(settings, settings.prefixed("database"), STANDARD_PORT, db.port)

        image = common.remote_image(f"{name}-image", db.image, self)
        volume = docker.Volume(
            f"{name}-data",
            name=settings.prefixed("database-data"),
            labels=common.volume_labels(settings, "database-data"),
            opts=common.data_options(settings, self),
        )
        password = common.generated_secret(f"{name}-password", 32, self)
        secret_password = common.secret(password.result)
        envs = secret_password.apply(
            lambda value: [
                f"POSTGRES_USER={db.user}",
                f"POSTGRES_PASSWORD={value}",
                f"POSTGRES_DB={db.name}",
                f"PGPORT={where.internal_port}",
                f"PGDATA={DATA_PATH}/pgdata",
            ]
        )
        health = 'pg_isready -q -h 127.0.0.1 -p "$PGPORT" -U "$POSTGRES_USER" -d "$POSTGRES_DB"'
        container = common.service_container(
            f"{name}-container",
            settings,
            common.ServiceSpec(
                role="database",
                image_reference=db.image,
                health_test=["CMD-SHELL", health],
                published=[(STANDARD_PORT, db.port)],
                command=["postgres", "-c", f"listen_addresses={where.listen_address}"],
                volumes=[
                    docker.ContainerVolumeArgs(volume_name=volume.name, container_path=DATA_PATH)
                ],
            ),
            image.image_id,
            envs,
            network_name,
            self,
        )
        check = PgvectorExtension(
            f"{name}-pgvector",
            PgvectorExtensionArgs(
                host=where.host_address,
                port=where.host_port,
                database=db.name,
                user=db.user,
                password=secret_password,
                image=db.image,
                connect_timeout_seconds=db.connect_timeout_seconds,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[container]),
        )

        self.host = pulumi.Output.from_input(where.host_address)
        self.port = pulumi.Output.from_input(where.host_port)
        self.database_name = pulumi.Output.from_input(db.name)
        self.user = pulumi.Output.from_input(db.user)
        self.password = secret_password
        self.dsn = common.secret(
            pulumi.Output.concat(
                "postgresql://",
                db.user,
                ":",
                password.result,
                "@",
                where.host_address,
                ":",
                str(where.host_port),
                "/",
                db.name,
            )
        )
        self.internal_dsn = common.secret(
            pulumi.Output.concat(
                "postgresql+psycopg://",
                db.user,
                ":",
                password.result,
                "@",
                where.internal_host,
                ":",
                str(where.internal_port),
                "/",
                db.name,
            )
        )
        self.container_name = container.name
        self.pgvector_version = check.extension_version
        self.server_version = check.server_version
        self.ready = check
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
