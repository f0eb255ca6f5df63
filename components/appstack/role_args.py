"""The Args fields each data role's component takes from the stack settings, on every target.

`Platform` (Docker) and `KubernetesPlatform` build their Database, Cache and ObjectStore from the
same settings; what differs per target (network, provider, data options) they add themselves.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from appstack.object_store import BucketSpec
from appstack.settings import Settings


def database_fields(settings: Settings) -> dict[str, Any]:
    db = settings.database
    return {
        "image": db.image,
        "port": db.port,
        "database_name": db.name,
        "user": db.user,
        "connect_timeout_seconds": db.connect_timeout_seconds,
    }


def cache_fields(settings: Settings) -> dict[str, Any]:
    cache = settings.cache
    return {
        "image": cache.image,
        "port": cache.port,
        "max_memory_mb": cache.max_memory_mb,
        "max_memory_policy": cache.max_memory_policy,
        "persistence": cache.persistence,
    }


def object_store_fields(settings: Settings) -> dict[str, Any]:
    store = settings.object_store
    return {
        "image": store.image,
        "port": store.port,
        "console_port": store.console_port,
        "buckets": [BucketSpec(**asdict(bucket)) for bucket in store.buckets],
        "bucket_prefix": f"{settings.environment}-{settings.project}",
        "force_destroy": store.force_destroy,
    }
