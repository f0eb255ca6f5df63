"""Platform: the whole environment of one appstack stack, in dependency order.

Network -> Database (healthy, pgvector verified) -> Cache, ObjectStore (healthy, buckets) ->
Migration (for the backend's exact image) -> Backend (healthy). It maps the validated stack
settings to each component's Args, passing the Docker names appstack's stacks have always had
(containers `{environment}-{role}`, network aliases `{role}`), so upgrading appstack replaces
nothing. It exposes the
outputs the stack exports, that verification reads and that promotion copies.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypedDict

import pulumi

from appstack.backend import Backend, BackendArgs, BackendImageArgs, backend_image
from appstack.cache import Cache, CacheArgs
from appstack.common import HealthCheck
from appstack.contract import component_type
from appstack.database import Database, DatabaseArgs
from appstack.docker_target import provider as docker_provider
from appstack.migration import Migration, MigrationArgs
from appstack.network import Network, NetworkArgs
from appstack.object_store import ObjectStore, ObjectStoreArgs
from appstack.role_args import cache_fields, database_fields, object_store_fields
from appstack.settings import NAMESPACE, Settings, SettingsError
from appstack.stack_outputs import stack_outputs

if TYPE_CHECKING:
    from appstack.k8s.platform import KubernetesPlatform


class _Service(TypedDict):
    """The Args every service of the platform shares."""

    environment: str
    container_name: str
    network_alias: str
    health: HealthCheck


class _Data(TypedDict):
    """The Args of the platform's stateful services."""

    protect_data: bool
    retain_data_on_delete: bool


BUILD_ENVIRONMENTS = ("dev",)
"""Environments that may build the backend locally when no image is configured."""


def backend_image_args(settings: Settings) -> BackendImageArgs:
    """The backend image the stack runs: its configured reference, or (dev only) a local build."""
    backend, environment = settings.backend, settings.environment
    if backend.image:
        return BackendImageArgs(reference=backend.image, environment=environment)
    if environment not in BUILD_ENVIRONMENTS:
        raise SettingsError(
            [
                f"{NAMESPACE}:backend.image: expected an image reference (only "
                f"{', '.join(BUILD_ENVIRONMENTS)} builds {backend.build_context}/ when no image is "
                f"configured), got ''"
            ]
        )
    return BackendImageArgs(
        build_context=backend.build_context,
        base_image=backend.base_image,
        build_network=backend.build_network,  # type: ignore[arg-type]
        local_tag=f"{environment}-{settings.project}-backend:local",
        environment=environment,
    )


def build_platform(name: str, settings: Settings) -> Platform | KubernetesPlatform:
    """The platform of the stack's target: Docker (`Platform`) or Kubernetes."""
    if settings.target == "kubernetes":
        from appstack.k8s.platform import KubernetesPlatform

        return KubernetesPlatform(name, settings)
    return Platform(name, settings)


class Platform(pulumi.ComponentResource):
    """Every component of one environment, wired from each other's outputs."""

    network: Network
    database: Database
    cache: Cache
    object_store: ObjectStore
    migration: Migration
    backend: Backend
    outputs: dict[str, Any]
    """The stack outputs (see the README's Outputs table)."""

    def __init__(
        self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        image_args = backend_image_args(settings)
        super().__init__(component_type("Platform"), name, None, opts)
        # One explicit Docker provider for the stack's engine (never the default provider or the
        # DOCKER_HOST of whoever deploys); every component inherits it from these options.
        target = settings.docker.target
        self.docker_provider = docker_provider(
            f"{name}-docker", target, pulumi.ResourceOptions(parent=self)
        )
        child = pulumi.ResourceOptions(parent=self, providers=[self.docker_provider])
        env = settings.environment
        health = HealthCheck(
            interval=settings.health.interval,
            timeout=settings.health.timeout,
            start_period=settings.health.start_period,
            retries=settings.health.retries,
            wait_timeout_seconds=settings.health.wait_timeout_seconds,
        )
        data = _Data(
            protect_data=settings.data.protect, retain_data_on_delete=settings.data.retain_on_delete
        )

        def service(role: str) -> _Service:
            """The Docker names of the service `role` as they always were, and its health check."""
            return _Service(
                environment=env, container_name=f"{env}-{role}", network_alias=role, health=health
            )

        self.network = Network(
            f"{name}-network",
            NetworkArgs(
                mode=settings.network.mode,
                bind_address=settings.network.bind_address,
                network_name=f"{env}-network" if settings.network.mode == "bridge" else None,
                environment=env,
            ),
            child,
        )
        network = self.network.attachment
        if settings.docker.connect_address != network.bind_address:
            network = replace(network, connect_address=settings.docker.connect_address)
        self.database = Database(
            f"{name}-database",
            DatabaseArgs(
                network=network, **database_fields(settings), **service("database"), **data
            ),
            child,
        )
        self.cache = Cache(
            f"{name}-cache",
            CacheArgs(network=network, **cache_fields(settings), **service("cache"), **data),
            child,
        )
        self.object_store = ObjectStore(
            f"{name}-objectstore",
            ObjectStoreArgs(
                network=network,
                health_command=settings.object_store.health_command,
                **object_store_fields(settings),
                **service("objectstore"),
                **data,
            ),
            child,
        )

        image = backend_image(f"{name}-backend-image", image_args, child)
        self.migration = Migration(
            f"{name}-migration",
            MigrationArgs(
                image_id=image.image_id,
                database_url=self.database.internal_dsn,
                network=network,
                migration_command=settings.backend.migration_command,
                revision_command=settings.backend.revision_command,
                environment=env,
                docker=target,
            ),
            pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[self.database.ready])
            ),
        )
        store = self.object_store
        environment: dict[str, pulumi.Input[str]] = {
            "DATABASE_URL": self.database.internal_dsn,
            "REDIS_URL": self.cache.internal_url,
            "S3_ENDPOINT": store.internal_endpoint,
            "S3_ACCESS_KEY": store.access_key,
            "S3_SECRET_KEY": store.secret_key,
            "S3_SECURE": "false",
        }
        for role, bucket_name in store.bucket_names.items():
            environment[f"S3_BUCKET_{role.upper().replace('-', '_')}"] = bucket_name
        backend = settings.backend
        self.backend = Backend(
            f"{name}-backend",
            BackendArgs(
                network=network,
                image=image,
                environment_variables=environment,
                port=backend.port,
                cors_origins=backend.cors_origins,
                health_path=backend.health_path,
                read_only_root_filesystem=backend.read_only_root_filesystem,
                **service("backend"),
            ),
            pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    depends_on=[self.migration.run, self.cache.container, *store.buckets]
                ),
            ),
        )

        self.outputs = stack_outputs(
            settings,
            database=self.database,
            cache=self.cache,
            store=store,
            backend_url=self.backend.url,
            backend_image=image.reference,
            backend_image_id=self.backend.image_id,
            migration_revision=self.migration.revision,
        )
        self.register_outputs(self.outputs)
