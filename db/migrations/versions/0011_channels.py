"""channels: a person is (channel, external id) with an internal id; rows that name a
person carry the channel

`users` gets `channel` and `external_id`. Every existing user is a Telegram user whose
internal id is their Telegram id (bot/channels), so the migration moves nothing: each
row in every table keeps its owner, and each user gets the identity ('tg', id). MAX
people, added later, have internal ids from 2**53, which no Telegram id reaches.

`activity_events` and `faq_questions` get `channel` (existing rows: 'tg', anonymised ones
included), so the report counts people and questions per channel after /forget too;
the report's covering index gains it at its end.

Downgrade removes MAX people and their rows (the old schema has no way to address them)
and drops the columns; Telegram data is untouched.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MAX_ID_BASE = 2**53

REPORT_COLUMNS = ["kind", "occurred_at", "municipality_id", "user_id", "outcome", "topic", "age", "value"]

# Tables whose rows belong to a person by internal id (downgrade deletes MAX people's rows).
OWNED = (
    ("subscriptions", "user_id"),
    ("event_signups", "user_id"),
    ("outbox", "user_id"),
    ("notices", "chat_id"),
    ("notices", "user_id"),
    ("faq_questions", "user_id"),
    ("activity_events", "user_id"),
)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("channel", sa.String(8), nullable=False, server_default="tg"))
        batch.add_column(sa.Column("external_id", BIGINT, nullable=True))
    op.execute("UPDATE users SET external_id = id")
    op.create_index("ux_users_identity", "users", ["channel", "external_id"], unique=True)

    for table in ("activity_events", "faq_questions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("channel", sa.String(8), nullable=True))
        op.execute(f"UPDATE {table} SET channel = 'tg' WHERE user_id IS NOT NULL")

    op.drop_index("ix_activity_events_report", table_name="activity_events")
    op.create_index("ix_activity_events_report", "activity_events", [*REPORT_COLUMNS, "channel"])


def downgrade() -> None:
    op.execute(
        "DELETE FROM faq_handoffs WHERE question_id IN (SELECT id FROM faq_questions WHERE channel = 'max')"
    )
    for table, column in OWNED:
        op.execute(f"DELETE FROM {table} WHERE {column} >= {MAX_ID_BASE}")
    op.execute("DELETE FROM activity_events WHERE channel = 'max'")
    op.execute("DELETE FROM faq_questions WHERE channel = 'max'")
    op.execute(f"DELETE FROM users WHERE id >= {MAX_ID_BASE}")

    op.drop_index("ix_activity_events_report", table_name="activity_events")
    op.create_index("ix_activity_events_report", "activity_events", REPORT_COLUMNS)
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a batch copy: copying faq_questions
    # or users would drop the old table, and ON DELETE CASCADE would empty the tables that
    # point at it (faq_handoffs).
    op.drop_index("ux_users_identity", table_name="users")
    for table, column in (
        ("activity_events", "channel"),
        ("faq_questions", "channel"),
        ("users", "external_id"),
        ("users", "channel"),
    ):
        op.drop_column(table, column)
