"""Initial schema: pgvector, users, brands, projects, generated assets/texts, meetings.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

The extension comes first: `embedding vector(1536)` cannot exist without it. Where the database
image lacks pgvector this fails with PostgreSQL's "extension "vector" is not available" (the
deployment's PgvectorExtension step reports it earlier, with the fix).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMBEDDING_DIMENSIONS = 1536


def _id() -> sa.Column[object]:
    return sa.Column(
        "id",
        postgresql.UUID(as_uuid=True),
        primary_key=True,
        server_default=sa.text("gen_random_uuid()"),
    )


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def _fk(name: str, table: str, *, nullable: bool, ondelete: str) -> sa.Column[object]:
    return sa.Column(
        name,
        postgresql.UUID(as_uuid=True),
        sa.ForeignKey(f"{table}.id", ondelete=ondelete),
        nullable=nullable,
    )


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")

    op.create_table(
        "users",
        _id(),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False, server_default=""),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "brands",
        _id(),
        _fk("owner_id", "users", nullable=True, ondelete="SET NULL"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.UniqueConstraint("slug", name="uq_brands_slug"),
    )
    op.create_index("ix_brands_owner_id", "brands", ["owner_id"])
    op.create_table(
        "projects",
        _id(),
        _fk("brand_id", "brands", nullable=False, ondelete="CASCADE"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("status", sa.String(32), nullable=False, server_default="active"),
        _timestamp("created_at"),
        _timestamp("updated_at"),
    )
    op.create_index("ix_projects_brand_id", "projects", ["brand_id"])
    op.create_table(
        "generated_assets",
        _id(),
        _fk("project_id", "projects", nullable=False, ondelete="CASCADE"),
        _fk("created_by", "users", nullable=True, ondelete="SET NULL"),
        sa.Column("asset_type", sa.String(32), nullable=False),
        sa.Column("object_key", sa.Text(), nullable=False),
        sa.Column(
            "content_type",
            sa.String(255),
            nullable=False,
            server_default="application/octet-stream",
        ),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column(
            "attributes",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'{}'::jsonb"),
        ),
        sa.Column("embedding", Vector(EMBEDDING_DIMENSIONS), nullable=True),
        _timestamp("created_at"),
        sa.UniqueConstraint("object_key", name="uq_generated_assets_object_key"),
    )
    op.create_index("ix_generated_assets_project_id", "generated_assets", ["project_id"])
    op.create_index("ix_generated_assets_created_by", "generated_assets", ["created_by"])
    # Approximate nearest-neighbour search by cosine distance (pgvector HNSW).
    op.create_index(
        "ix_generated_assets_embedding_hnsw",
        "generated_assets",
        ["embedding"],
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_table(
        "generated_texts",
        _id(),
        _fk("project_id", "projects", nullable=False, ondelete="CASCADE"),
        _fk("created_by", "users", nullable=True, ondelete="SET NULL"),
        sa.Column("kind", sa.String(32), nullable=False, server_default="copy"),
        sa.Column("prompt", sa.Text(), nullable=False, server_default=""),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("model", sa.String(100), nullable=False, server_default=""),
        _timestamp("created_at"),
    )
    op.create_index("ix_generated_texts_project_id", "generated_texts", ["project_id"])
    op.create_index("ix_generated_texts_created_by", "generated_texts", ["created_by"])
    op.create_table(
        "meetings",
        _id(),
        _fk("project_id", "projects", nullable=True, ondelete="CASCADE"),
        _fk("organizer_id", "users", nullable=True, ondelete="SET NULL"),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False, server_default="scheduled"),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
    )
    op.create_index("ix_meetings_project_id", "meetings", ["project_id"])
    op.create_index("ix_meetings_organizer_id", "meetings", ["organizer_id"])
    op.create_table(
        "meeting_transcripts",
        _id(),
        _fk("meeting_id", "meetings", nullable=False, ondelete="CASCADE"),
        sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("speaker", sa.Text(), nullable=False, server_default=""),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=False, server_default=""),
        sa.Column("started_at_ms", sa.BigInteger(), nullable=True),
        _timestamp("created_at"),
    )
    op.create_index("ix_meeting_transcripts_meeting_id", "meeting_transcripts", ["meeting_id"])


def downgrade() -> None:
    """Drop the tables (the extension stays: other schemas may use it)."""
    for table in (
        "meeting_transcripts",
        "meetings",
        "generated_texts",
        "generated_assets",
        "projects",
        "brands",
        "users",
    ):
        op.drop_table(table)
