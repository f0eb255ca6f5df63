"""Platform: the whole environment of one stack, in dependency order.

Network -> Database (healthy, pgvector verified) -> Cache, ObjectStore (healthy, buckets) ->
Migration (for the backend's exact image) -> Backend (healthy). Exposes the outputs the stack
exports, the verification reads and promotion copies.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.backend import Backend, backend_image
from components.cache import Cache
from components.database import Database
from components.migration import Migration
from components.network import Network
from components.object_store import ObjectStore
from components.settings import Settings


class Platform(pulumi.ComponentResource):
    """Every component of one environment, wired from each other's outputs."""

    network: Network
    database: Database
    cache: Cache
    object_store: ObjectStore
    migration: Migration
    backend: Backend
    outputs: dict[str, Any]

    def __init__(
        self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("appstack:index:Platform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.network = Network(f"{name}-network", settings, child)
        network_name = self.network.network_name
        self.database = Database(f"{name}-database", settings, network_name, child)
        self.cache = Cache(f"{name}-cache", settings, network_name, child)
        self.object_store = ObjectStore(f"{name}-objectstore", settings, network_name, child)

        image, reference = backend_image(f"{name}-backend-image", settings, self)
        self.migration = Migration(
            f"{name}-migration",
            settings,
            image_id=image.image_id,
            database_url=self.database.internal_dsn,
            network_name=network_name,
            depends_on=[self.database.ready],
            opts=child,
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
        self.backend = Backend(
            f"{name}-backend",
            settings,
            image=image,
            image_reference=reference,
            environment=environment,
            network_name=network_name,
            depends_on=[self.migration.run, self.cache.container, *store.buckets],
            opts=child,
        )

        db = self.database
        self.outputs = {
            "environment": settings.environment,
            "database": {
                "host": db.host,
                "port": db.port,
                "name": db.database_name,
                "user": db.user,
                "dsn": db.dsn,
                "pgvectorVersion": db.pgvector_version,
                "serverVersion": db.server_version,
                "image": settings.database.image,
            },
            "cache": {
                "host": self.cache.host,
                "port": self.cache.port,
                "url": self.cache.url,
                "image": settings.cache.image,
            },
            "objectStore": {
                "endpoint": store.endpoint,
                "accessKey": store.access_key,
                "secretKey": store.secret_key,
                "buckets": store.bucket_names,
                "image": settings.object_store.image,
            },
            "backend": {
                "url": self.backend.url,
                "image": reference,
                "imageId": self.backend.image_id,
                "healthPath": settings.backend.health_path,
            },
            "migration": {"revision": self.migration.revision},
            "corsOrigins": list(settings.backend.cors_origins),
            "images": {
                "database": settings.database.image,
                "cache": settings.cache.image,
                "objectStore": settings.object_store.image,
                "backend": reference,
            },
        }
        self.register_outputs(self.outputs)
