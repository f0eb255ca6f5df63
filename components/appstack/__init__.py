"""appstack: Pulumi components for a Python backend's platform, one module per concept.

- `appstack.network`: `Network`/`NetworkArgs`, and `NetworkAttachment` (how containers attach);
- `appstack.database`: `Database`/`DatabaseArgs` (PostgreSQL + pgvector, verified live);
- `appstack.cache`: `Cache`/`CacheArgs` (Redis);
- `appstack.object_store`: `ObjectStore`/`ObjectStoreArgs`, `BucketSpec` (MinIO and its buckets);
- `appstack.migration`: `Migration`/`MigrationArgs` (the schema migration before the backend);
- `appstack.backend`: `backend_image`/`BackendImageArgs`, `Backend`/`BackendArgs`;
- `appstack.bucket`, `appstack.pgvector`: the dynamic resources `Bucket` and `PgvectorExtension`;
- `appstack.platform`: `Platform`, appstack's own stack built from `appstack.settings`;
- `appstack.contract`: labels, type tokens, unknown sentinels, exit codes, image references;
- `appstack.graph`: run a program under Pulumi's mocks and record its resource graph;
- `appstack.provider`: the components for other languages (a component provider, `provider/`).

A component's class-level annotations are its outputs, which the provider's schema is inferred
from: their modules keep them evaluable (no `from __future__ import annotations`), and handles
for Python programs (`Database.ready`, ...) are set in `__init__` instead.

Import the modules you use: this package imports nothing itself, so that `python -m
appstack.migrate` (run by the Migration step) starts without loading Pulumi.
"""
