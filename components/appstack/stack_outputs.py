"""The stack outputs a platform exports, the same shape on every target.

`delivery` (verify, promotion, the PR comment) reads these keys, so the Docker platform and the
Kubernetes platform build them here, in one place; each adds what only it has (`target`,
`kubernetes`).
"""

from __future__ import annotations

from typing import Any, Protocol

import pulumi

from appstack.settings import Settings


class _Database(Protocol):
    host: pulumi.Output[str]
    port: pulumi.Output[int]
    database_name: pulumi.Output[str]
    user: pulumi.Output[str]
    dsn: pulumi.Output[str]
    pgvector_version: pulumi.Output[str]
    server_version: pulumi.Output[str]


class _Cache(Protocol):
    host: pulumi.Output[str]
    port: pulumi.Output[int]
    url: pulumi.Output[str]


class _ObjectStore(Protocol):
    endpoint: pulumi.Output[str]
    access_key: pulumi.Output[str]
    secret_key: pulumi.Output[str]
    bucket_names: dict[str, pulumi.Output[str]]
    bucket_config: dict[str, pulumi.Output[dict[str, Any]]]


def stack_outputs(
    settings: Settings,
    *,
    database: _Database,
    cache: _Cache,
    store: _ObjectStore,
    backend_url: pulumi.Input[str],
    backend_image: str,
    backend_image_id: pulumi.Input[str],
    migration_revision: pulumi.Input[str],
) -> dict[str, Any]:
    """The outputs of a platform built from `settings` with these components."""
    db, cache_settings = settings.database, settings.cache
    store_settings, backend = settings.object_store, settings.backend
    return {
        "environment": settings.environment,
        "database": {
            "host": database.host,
            "port": database.port,
            "name": database.database_name,
            "user": database.user,
            "dsn": database.dsn,
            "pgvectorVersion": database.pgvector_version,
            "serverVersion": database.server_version,
            "image": db.image,
        },
        "cache": {
            "host": cache.host,
            "port": cache.port,
            "url": cache.url,
            "image": cache_settings.image,
        },
        "objectStore": {
            "endpoint": store.endpoint,
            "accessKey": store.access_key,
            "secretKey": store.secret_key,
            "buckets": store.bucket_names,
            "bucketConfig": store.bucket_config,
            "image": store_settings.image,
        },
        "backend": {
            "url": backend_url,
            "image": backend_image,
            "imageId": backend_image_id,
            "healthPath": backend.health_path,
        },
        "migration": {"revision": migration_revision},
        "corsOrigins": list(backend.cors_origins),
        "images": {
            "database": db.image,
            "cache": cache_settings.image,
            "objectStore": store_settings.image,
            "backend": backend_image,
        },
    }
