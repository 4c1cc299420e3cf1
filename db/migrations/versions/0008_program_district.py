"""programs.district: the part of the municipality (район, округ, микрорайон) a program
is held in, read from the import file's «Район»/«Округ» column; parents narrow a search
by it. The covering search index takes it so the results' district buttons need no
table reads.

Numbered 0008 because 0007 is taken by a parallel branch (hand-off threads); it follows
0006 here, and whoever merges both chains it after 0007.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_INDEX = ["municipality_id", "direction", "age_from", "age_to", "title", "search_text"]
NEW_INDEX = ["municipality_id", "direction", "age_from", "age_to", "title", "district", "search_text"]


def upgrade() -> None:
    with op.batch_alter_table("programs") as batch:
        batch.add_column(sa.Column("district", sa.String(length=100), server_default="", nullable=False))
    op.drop_index("ix_programs_search", table_name="programs")
    op.create_index("ix_programs_search", "programs", NEW_INDEX)


def downgrade() -> None:
    op.drop_index("ix_programs_search", table_name="programs")
    with op.batch_alter_table("programs") as batch:
        batch.drop_column("district")
    op.create_index("ix_programs_search", "programs", OLD_INDEX)
