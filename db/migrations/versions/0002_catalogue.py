"""catalogue: programs and pending imports

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "programs",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("external_id", sa.String(length=32), nullable=False),
        sa.Column("municipality_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("age_from", sa.Integer(), nullable=False),
        sa.Column("age_to", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(length=300), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("form", sa.String(length=8), nullable=False),
        sa.Column("funding", sa.String(length=8), nullable=False),
        sa.Column("price", sa.Integer(), nullable=True),
        sa.Column("ovz", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("schedule", sa.String(length=300), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("search_text", sa.String(length=720), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programs")),
        sa.UniqueConstraint("external_id", name=op.f("uq_programs_external_id")),
    )
    op.create_index(
        "ix_programs_search",
        "programs",
        ["municipality_id", "direction", "age_from", "age_to", "title", "search_text"],
    )
    op.create_index("ix_programs_direction_ages", "programs", ["direction", "age_from", "age_to"])
    op.create_table(
        "catalogue_pending_imports",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("user_id", BIGINT, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_pending_imports")),
    )


def downgrade() -> None:
    op.drop_table("catalogue_pending_imports")
    op.drop_index("ix_programs_direction_ages", table_name="programs")
    op.drop_index("ix_programs_search", table_name="programs")
    op.drop_table("programs")
