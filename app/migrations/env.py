"""alembic environment: connects with DATABASE_URL and runs migrations under an advisory lock.

The URL comes from the environment only (never alembic.ini, never argv) so the DSN is not written
to a file or shown in a process list, and it is never logged. The advisory lock makes two
concurrent migration jobs run one after the other instead of racing on the same DDL.
"""

from __future__ import annotations

import os
import sys
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool, text

from appstack_backend.models import Base

MIGRATION_LOCK_ID = 0x61707073  # "apps": one lock for every migration run of this schema

target_metadata = Base.metadata

if context.config.config_file_name is not None:
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        sys.exit("alembic: DATABASE_URL is not set (postgresql+psycopg://user:password@host/db)")
    return url


def run_migrations_offline() -> None:
    """Emit SQL without a database (`alembic upgrade head --sql`)."""
    context.configure(
        url=os.environ.get("DATABASE_URL", "postgresql+psycopg://"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations in one transaction, serialized by a PostgreSQL advisory lock."""
    engine = create_engine(
        _database_url(),
        poolclass=pool.NullPool,
        connect_args={"connect_timeout": 10, "application_name": "appstack-migrations"},
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            compare_server_default=False,
        )
        with context.begin_transaction():
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
