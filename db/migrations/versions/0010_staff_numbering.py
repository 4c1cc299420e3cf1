"""staff numbering: broadcasts numbered among broadcasts (reminders among reminders), and a
deleted outreach log entry's number never given again

`broadcasts.number` counts each kind on its own: staff see «Рассылка №3» for their third
broadcast, not the id the table shares with event reminders. Existing rows are numbered
in the order they were created.

`outreach_activities` gets SQLite's AUTOINCREMENT, so the id of a deleted last entry is
not reused (PostgreSQL sequences never reuse one). The counter starts after the highest
id the audit trail has ever seen, so an entry deleted before this migration keeps its
number to itself too. `faq_handoffs` gets it as well: staff see a hand-off's id as
«Вопрос родителя №12», and /forget deletes a parent's hand-offs.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


NUMBERED = ("outreach_activities", "faq_handoffs")  # tables whose ids staff see as numbers


def _recreate(table: str, autoincrement: bool) -> None:
    """SQLite keeps AUTOINCREMENT in the table's definition: the table is copied into a new one."""
    with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass


def upgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("number", BIGINT, nullable=True))
    op.execute(
        "UPDATE broadcasts SET number = (SELECT count(*) FROM broadcasts AS earlier "
        "WHERE earlier.kind = broadcasts.kind AND earlier.id <= broadcasts.id)"
    )
    with op.batch_alter_table("broadcasts") as batch:
        batch.create_unique_constraint(op.f("uq_broadcasts_kind_number"), ["kind", "number"])
    if op.get_bind().dialect.name == "sqlite":
        for table in NUMBERED:
            _recreate(table, True)
        # After the highest number ever given: the table's, or a deleted one's in the audit trail.
        op.execute("DELETE FROM sqlite_sequence WHERE name = 'outreach_activities'")
        op.execute(
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'outreach_activities', max(coalesce("
            "(SELECT max(id) FROM outreach_activities), 0), coalesce((SELECT max(activity_id) "
            "FROM outreach_audit), 0))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in NUMBERED:
            _recreate(table, False)
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_constraint(op.f("uq_broadcasts_kind_number"), type_="unique")
        batch.drop_column("number")
