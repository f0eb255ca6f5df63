"""Database on Kubernetes: PostgreSQL with pgvector, verified live by the deployment itself.

Creates a generated password and the DSNs in a Secret `{object}-credentials`, the data claim
`{object}-data` (protected and kept on delete where the Args say so), a one-replica StatefulSet
running the pgvector image with exec probes (`pg_isready`), a Service, and the same
`PgvectorExtension` check as the Docker target, which reaches the database from the deploying
machine (on the node's address, or through the port-forward: `appstack.k8s.common`).
Nothing downstream runs before that check succeeds: depend on `ready`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from appstack import common as docker_common
from appstack.contract import component_type
from appstack.database import DATA_PATH, check_database_fields
from appstack.defaults import section
from appstack.k8s import common
from appstack.pgvector import PgvectorExtension, PgvectorExtensionArgs
from appstack.validation import Problems

_DEFAULTS = section("database")
PASSWORD_KEY = "password"
URL_KEY = "url"
"""The Secret key of the DSN other pods use (`postgresql+psycopg://`)."""


@dataclass(kw_only=True)
class KubernetesDatabaseArgs(common.KubernetesStatefulArgs):
    """PostgreSQL with pgvector: image, port, database and role, and how long to wait for it."""

    image: str = _DEFAULTS["image"]
    """A pgvector PostgreSQL image reference. Plain: the policies read it at preview."""
    port: int = _DEFAULTS["port"]
    """The port the server listens on (on the node's address with `host_network`)."""
    database_name: str = _DEFAULTS["name"]
    user: str = _DEFAULTS["user"]
    connect_timeout_seconds: int = _DEFAULTS["connectTimeoutSeconds"]
    data_owner: str | None = "postgres"


class KubernetesDatabase(pulumi.ComponentResource):
    """PostgreSQL + pgvector as a StatefulSet, its claim, its Service and its Secret."""

    host: pulumi.Output[str]
    port: pulumi.Output[int]
    database_name: pulumi.Output[str]
    user: pulumi.Output[str]
    dsn: pulumi.Output[str]
    """`postgresql://` URL from the deploying machine (secret)."""
    credentials_secret: pulumi.Output[str]
    """The name of the Secret holding `password` and `url` (the in-cluster DSN)."""
    pgvector_version: pulumi.Output[str]
    server_version: pulumi.Output[str]

    def __init__(
        self, name: str, args: KubernetesDatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        problems = Problems(f"KubernetesDatabase {name!r}")
        ident = common.identify(name, args, problems)
        check_database_fields(problems, args)
        problems.raise_if_any()

        super().__init__(component_type("KubernetesDatabase"), name, None, opts)
        port = args.port
        host, local_port = common.deployer_endpoint(args, ident, port)
        password = docker_common.generated_secret(f"{name}-password", 32, self)
        internal_dsn = pulumi.Output.concat(
            "postgresql+psycopg://",
            args.user,
            ":",
            password.result,
            "@",
            common.cluster_host(args, ident),
            f":{port}/{args.database_name}",
        )
        secret = common.credentials_secret(
            f"{name}-credentials",
            ident,
            "database",
            args,
            {PASSWORD_KEY: password.result, URL_KEY: internal_dsn},
            self,
        )
        claim = common.data_claim(f"{name}-data", ident, "database-data", args, self)
        pod_labels = common.labels(ident, "database")
        secret_name = secret.metadata["name"]
        server = common.container(
            args,
            "postgres",
            args.image,
            env=[
                common.plain_env("POSTGRES_USER", args.user),
                common.secret_env("POSTGRES_PASSWORD", secret_name, PASSWORD_KEY),
                common.plain_env("POSTGRES_DB", args.database_name),
                common.plain_env("PGPORT", str(port)),
                common.plain_env("PGDATA", f"{DATA_PATH}/pgdata"),
            ],
            args_=["postgres", "-c", f"listen_addresses={common.listen_address(args)}"],
            probe_command=[
                "sh",
                "-c",
                f"pg_isready -q -h {common.pod_local_address(args)}"
                ' -p "$PGPORT" -U "$POSTGRES_USER" -d "$POSTGRES_DB"',
            ],
            volume_mounts=[{"name": "data", "mount_path": DATA_PATH}],
        )
        statefulset = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=common.metadata(args, ident.object_name, pod_labels),
            spec={
                "replicas": 1,
                "service_name": ident.object_name,
                **common.pods(
                    ident,
                    pod_labels,
                    common.data_pod_spec(args, [server], args.image, claim, DATA_PATH),
                ),
            },
            opts=common.options(args, self),
        )
        service = common.service(
            f"{name}-service", ident, "database", args, {"postgres": port}, self
        )
        check = PgvectorExtension(
            f"{name}-pgvector",
            PgvectorExtensionArgs(
                host=host,
                port=local_port,
                database=args.database_name,
                user=args.user,
                password=docker_common.secret(password.result),
                image=args.image,
                connect_timeout_seconds=args.connect_timeout_seconds,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[statefulset, service]),
        )
        self.host = pulumi.Output.from_input(host)
        self.port = pulumi.Output.from_input(local_port)
        self.database_name = pulumi.Output.from_input(args.database_name)
        self.user = pulumi.Output.from_input(args.user)
        self.dsn = docker_common.secret(
            pulumi.Output.concat(
                "postgresql://",
                args.user,
                ":",
                password.result,
                "@",
                f"{host}:{local_port}/{args.database_name}",
            )
        )
        self.credentials_secret = secret_name
        self.pgvector_version = check.extension_version
        self.server_version = check.server_version
        self.ready: pulumi.Resource = check
        """The pgvector check: depend on it to run after the database is up with pgvector."""
        self.register_outputs(
            {
                "host": self.host,
                "port": self.port,
                "dsn": self.dsn,
                "pgvectorVersion": self.pgvector_version,
                "serverVersion": self.server_version,
            }
        )
