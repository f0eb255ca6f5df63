"""The backend's alembic migrations against real PostgreSQL servers on loopback.

alembic runs as the migration job runs it in the image: `alembic upgrade head` in the directory
holding alembic.ini, with the DSN only in DATABASE_URL.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.realservers.backend import APP_DIR, run_alembic
from tests.realservers.postgres import PostgresServer

pytestmark = pytest.mark.real

HEAD = "0001"
TABLES = {
    "users",
    "brands",
    "projects",
    "generated_assets",
    "generated_texts",
    "meetings",
    "meeting_transcripts",
}

SCHEMA_SNAPSHOT_SQL = """
SELECT 'column', table_name || '.' || column_name || ' ' || data_type || ' '
       || is_nullable || ' ' || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL
SELECT 'index', indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'constraint', conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'extension', extname || ' ' || extversion FROM pg_extension
UNION ALL
SELECT 'revision', version_num FROM alembic_version
ORDER BY 1, 2
"""


def upgrade(server: PostgresServer, app_dir: Path = APP_DIR) -> str:
    result = run_alembic(server.sqlalchemy_url, "upgrade", "head", app_dir=app_dir)
    assert result.returncode == 0, result.stderr
    assert server.password not in result.stdout + result.stderr
    return result.stderr


def snapshot(server: PostgresServer) -> list[tuple[object, ...]]:
    with server.connect() as conn:
        return conn.execute(SCHEMA_SNAPSHOT_SQL).fetchall()


def test_empty_database_to_head_creates_schema(pgvector_database: PostgresServer) -> None:
    log = upgrade(pgvector_database)

    assert f"Running upgrade  -> {HEAD}" in log
    with pgvector_database.connect() as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        }
        embedding_type = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'generated_assets'::regclass AND attname = 'embedding'"
        ).fetchone()
        ann_index = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'generated_assets' "
            "AND indexdef LIKE '%USING hnsw%'"
        ).fetchone()
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        extension = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
    assert tables == TABLES | {"alembic_version"}
    assert embedding_type == ("vector(1536)",)
    assert ann_index is not None and "vector_cosine_ops" in str(ann_index[0])
    assert revision == [(HEAD,)]
    assert extension == (1,)


def test_schema_accepts_the_platforms_rows(pgvector_database: PostgresServer) -> None:
    """Defaults fill every NOT NULL column a caller may omit; FKs cascade as designed."""
    upgrade(pgvector_database)
    with pgvector_database.connect() as conn:
        user_id = conn.execute(
            "INSERT INTO users (email) VALUES ('a@example.test') RETURNING id"
        ).fetchone()
        assert user_id is not None
        brand = conn.execute(
            "INSERT INTO brands (owner_id, name, slug) VALUES (%s, 'B', 'b') RETURNING id",
            (user_id[0],),
        ).fetchone()
        assert brand is not None
        project = conn.execute(
            "INSERT INTO projects (brand_id, name) VALUES (%s, 'P') RETURNING id", (brand[0],)
        ).fetchone()
        assert project is not None
        embedding = "[" + ",".join(["0.5"] * 1536) + "]"
        conn.execute(
            "INSERT INTO generated_assets (project_id, asset_type, object_key, embedding) "
            "VALUES (%s, 'image', 'image/b/p/2026/01/01/x.png', %s)",
            (project[0], embedding),
        )
        conn.execute(
            "INSERT INTO generated_texts (project_id, content) VALUES (%s, 'hello')", (project[0],)
        )
        meeting = conn.execute(
            "INSERT INTO meetings (project_id, title) VALUES (%s, 'Kickoff') RETURNING id, status",
            (project[0],),
        ).fetchone()
        assert meeting is not None and meeting[1] == "scheduled"
        conn.execute(
            "INSERT INTO meeting_transcripts (meeting_id, content) VALUES (%s, 'hi')",
            (meeting[0],),
        )
        nearest = conn.execute(
            "SELECT object_key FROM generated_assets ORDER BY embedding <=> %s::vector LIMIT 1",
            (embedding,),
        ).fetchone()
        assert nearest == ("image/b/p/2026/01/01/x.png",)

        conn.execute("DELETE FROM brands WHERE id = %s", (brand[0],))
        remaining = conn.execute(
            "SELECT (SELECT count(*) FROM projects) + (SELECT count(*) FROM generated_assets)"
            " + (SELECT count(*) FROM meetings) + (SELECT count(*) FROM meeting_transcripts)"
        ).fetchone()
        assert remaining == (0,)


def test_second_run_changes_nothing(pgvector_database: PostgresServer) -> None:
    upgrade(pgvector_database)
    before = snapshot(pgvector_database)

    log = upgrade(pgvector_database)

    assert "Running upgrade" not in log
    assert snapshot(pgvector_database) == before


def test_alembic_current_prints_the_revision(pgvector_database: PostgresServer) -> None:
    upgrade(pgvector_database)

    result = run_alembic(pgvector_database.sqlalchemy_url, "current")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{HEAD} (head)"


def test_models_match_the_migrations(pgvector_database: PostgresServer) -> None:
    """`alembic check` compares the models with the migrated database: no drift allowed."""
    upgrade(pgvector_database)

    result = run_alembic(pgvector_database.sqlalchemy_url, "check")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout


def test_broken_migration_fails_with_its_log_tail_and_leaves_schema_at_previous_revision(
    pgvector_database: PostgresServer, tmp_path: Path
) -> None:
    app_copy = tmp_path / "app"
    shutil.copytree(APP_DIR, app_copy, ignore=shutil.ignore_patterns("wheels", "__pycache__"))
    upgrade(pgvector_database, app_copy)
    (app_copy / "migrations" / "versions" / "0002_broken.py").write_text(
        '"""Adds a column that already exists (a real incident)."""\n'
        "from alembic import op\n"
        "import sqlalchemy as sa\n"
        "revision = '0002'\n"
        "down_revision = '0001'\n"
        "branch_labels = None\n"
        "depends_on = None\n\n"
        "def upgrade() -> None:\n"
        "    op.add_column('meetings', sa.Column('notes', sa.Text()))\n"
        "    op.add_column('meetings', sa.Column('title', sa.Text()))\n\n"
        "def downgrade() -> None:\n"
        "    pass\n"
    )

    result = run_alembic(pgvector_database.sqlalchemy_url, "upgrade", "head", app_dir=app_copy)

    assert result.returncode != 0
    tail = "\n".join(result.stderr.splitlines()[-15:])
    assert 'column "title" of relation "meetings" already exists' in tail
    assert pgvector_database.password not in result.stdout + result.stderr
    with pgvector_database.connect() as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        notes = conn.execute(
            "SELECT 1 FROM information_schema.columns "
            "WHERE table_name = 'meetings' AND column_name = 'notes'"
        ).fetchone()
    assert notes is None, "the failed migration must roll back entirely"


def test_database_without_pgvector_fails_at_the_extension(
    plain_postgres_server: PostgresServer,
) -> None:
    result = run_alembic(plain_postgres_server.sqlalchemy_url, "upgrade", "head")

    assert result.returncode != 0
    assert 'extension "vector" is not available' in result.stderr
    with plain_postgres_server.connect() as conn:
        assert conn.execute("SELECT to_regclass('public.meetings')").fetchone() == (None,)


def test_missing_database_url_is_named() -> None:
    result = run_alembic(None, "upgrade", "head")

    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr
