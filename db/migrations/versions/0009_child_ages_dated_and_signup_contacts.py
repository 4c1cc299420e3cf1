"""children's ages kept with the day they were given (the age now is computed, never stale);
event sign-ups keep a cancellation instead of being deleted, and the name and phone a parent
chose to give

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Ages stored before this revision count as given on the day it runs. The downgrade writes
back the ages as they are on the day it runs and deletes cancelled sign-ups (the old
schema had no cancelled rows).
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _today() -> date:
    return datetime.now(UTC).date()


def _age_now(item: Any, today: date) -> int | None:
    """The age today of one stored {"age", "on"} item (as db/repositories/users.py computes it)."""
    try:
        age, given = int(item["age"]), date.fromisoformat(str(item["on"]))
    except (KeyError, TypeError, ValueError):
        return None
    years = today.year - given.year - ((today.month, today.day) < (given.month, given.day))
    return age + max(years, 0)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("children", sa.JSON(), server_default="[]", nullable=False))
    users = sa.table("users", sa.column("id", BIGINT), sa.column("child_ages", sa.JSON()),
                     sa.column("children", sa.JSON()))  # fmt: skip
    conn = op.get_bind()
    given_on = _today().isoformat()
    for user_id, ages in conn.execute(sa.select(users.c.id, users.c.child_ages)).all():
        if ages:
            children = [{"age": int(a), "on": given_on} for a in ages]
            conn.execute(users.update().where(users.c.id == user_id).values(children=children))
    with op.batch_alter_table("users") as batch:
        batch.drop_column("child_ages")

    with op.batch_alter_table("event_signups") as batch:
        batch.add_column(sa.Column("cancelled_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("name", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("contact_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    signups = sa.table("event_signups", sa.column("cancelled_at", UTCDateTime()))
    conn = op.get_bind()
    conn.execute(signups.delete().where(signups.c.cancelled_at.is_not(None)))
    with op.batch_alter_table("event_signups") as batch:
        batch.drop_column("contact_at")
        batch.drop_column("phone")
        batch.drop_column("name")
        batch.drop_column("cancelled_at")

    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("child_ages", sa.JSON(), server_default="[]", nullable=False))
    users = sa.table("users", sa.column("id", BIGINT), sa.column("child_ages", sa.JSON()),
                     sa.column("children", sa.JSON()))  # fmt: skip
    today = _today()
    for user_id, children in conn.execute(sa.select(users.c.id, users.c.children)).all():
        ages = sorted(a for a in (_age_now(c, today) for c in children or ()) if a is not None)
        if ages:
            conn.execute(users.update().where(users.c.id == user_id).values(child_ages=ages))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("child_ages", existing_type=sa.JSON(), server_default=None)
        batch.drop_column("children")
