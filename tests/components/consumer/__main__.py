"""A search service's own stack, built from appstack's components: no appstack backend.

Two PostgreSQL databases with pgvector (orders, search), a Redis and MinIO with one bucket whose
uploads expire, on host networking on loopback, each service on its own port from `basePort`.
"""

import pulumi

from appstack.cache import Cache, CacheArgs
from appstack.common import NetworkAttachment
from appstack.database import Database, DatabaseArgs
from appstack.object_store import BucketSpec, ObjectStore, ObjectStoreArgs

config = pulumi.Config()
port = config.get_int("basePort") or 31000
images = config.get_object("images") or {}
network = NetworkAttachment.host("127.0.0.1")

orders = Database(
    "orders",
    DatabaseArgs(
        network=network,
        port=port,
        database_name="orders",
        image=images.get("database", "pgvector/pgvector:pg17"),
    ),
)
search = Database(
    "search",
    DatabaseArgs(
        network=network,
        port=port + 1,
        database_name="search",
        image=images.get("database", "pgvector/pgvector:pg17"),
    ),
)
cache = Cache(
    "cache",
    CacheArgs(network=network, port=port + 2, image=images.get("cache", "redis:7.4-bookworm")),
)
files = ObjectStore(
    "files",
    ObjectStoreArgs(
        network=network,
        port=port + 3,
        console_port=port + 4,
        image=images.get("objectStore", "minio/minio:RELEASE.2025-04-22T22-12-26Z"),
        health_command=config.get_object("objectStoreHealthCommand") or (),
        buckets=[BucketSpec(role="uploads", expiration_days=7, abort_incomplete_multipart_days=1)],
    ),
)

pulumi.export("orders", orders.dsn)
pulumi.export("search", search.dsn)
pulumi.export("pgvector", search.pgvector_version)
pulumi.export("cache", cache.url)
pulumi.export("s3", files.endpoint)
pulumi.export("buckets", files.bucket_names)
