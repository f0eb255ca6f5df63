"""appstack's reference backend: a small FastAPI service over PostgreSQL+pgvector, Redis and MinIO.

It is what the dev stack builds and deploys: its alembic migrations create the platform's schema,
and its `/health` checks every dependency for real, so a deployment that half-works is visible.
"""
