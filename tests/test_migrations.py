"""Stairway: upgrade -> downgrade -> upgrade over every revision."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from db import migrate
from db.engine import create_engine
from db.models import Base


def _stairway(url: str) -> None:
    revisions = migrate.revisions(url)
    assert revisions, "no migrations found"
    previous = "base"
    for revision in revisions:
        migrate.upgrade(url, revision)
        migrate.downgrade(url, previous)
        migrate.upgrade(url, revision)
        previous = revision


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


def test_stairway_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'stairway.sqlite3'}"
    _stairway(url)
    assert set(Base.metadata.tables) <= asyncio.run(_tables(url))
    migrate.downgrade(url, "base")
    assert asyncio.run(_tables(url)) <= {"alembic_version"}


@pytest.mark.postgres
def test_stairway_postgres(pg_url: str) -> None:
    _stairway(pg_url)
    assert set(Base.metadata.tables) <= asyncio.run(_tables(pg_url))
    migrate.downgrade(pg_url, "base")
    assert asyncio.run(_tables(pg_url)) <= {"alembic_version"}


def test_models_match_migrations(tmp_path: Path) -> None:
    """The migrations create exactly what the models describe (no forgotten revision)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine as create_sync_engine

    path = tmp_path / "compare.sqlite3"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    engine = create_sync_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


# --- 0011: people become (channel, external id); nothing moves -----------------------------

# Every column that names a person (or a private chat) by id, in the schema before 0011.
OWNER_COLUMNS = {
    "users": ["id", "role_granted_by"],
    "subscriptions": ["user_id"],
    "events": ["created_by"],
    "event_signups": ["user_id"],
    "broadcasts": ["created_by"],
    "outbox": ["user_id"],
    "notices": ["chat_id", "user_id"],
    "faq_questions": ["user_id"],
    "faq_handoffs": ["answered_by"],
    "activity_events": ["user_id"],
    "outreach_activities": ["logged_by"],
    "outreach_audit": ["actor_id"],
    "catalogue_pending_imports": ["user_id"],
}
PARENT_A, PARENT_B, ANONYMOUS = 1001, 2_000_000_002, -77
MAX_ID_BASE = 2**53


def _filler(column: Any, n: int) -> Any:
    """A value for a NOT NULL column the test does not care about."""
    import datetime as dt

    from sqlalchemy import types

    kind = column["type"]
    if isinstance(kind, types.Boolean):
        return False
    if isinstance(kind, types.Integer):
        return n
    if isinstance(kind, (types.Float, types.Numeric)):
        return 0.5
    if isinstance(kind, types.DateTime):
        return dt.datetime(2026, 1, 1, 12, 0)
    if isinstance(kind, types.Date):
        return dt.date(2026, 1, 1)
    if isinstance(kind, types.LargeBinary):
        return b"x"
    if isinstance(kind, types.JSON):
        return "[]"
    return f"v{n}"


def _key(columns: list[Any], owners: list[str]) -> str:
    """The row's primary key and its owner columns, as a SELECT list."""
    keys = [c["name"] for c in columns if c["primary_key"]]
    return ", ".join(dict.fromkeys([*keys, *owners]))


def test_0011_keeps_every_rows_owner_and_gives_each_user_its_identity(tmp_path: Path) -> None:
    from sqlalchemy import create_engine as create_sync_engine
    from sqlalchemy import text

    path = tmp_path / "owners.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    migrate.upgrade(url, "0010")
    engine = create_sync_engine(f"sqlite:///{path}")
    before: dict[str, set[tuple[Any, ...]]] = {}
    try:
        with engine.begin() as conn:
            inspector = inspect(conn)
            for table, owners in OWNER_COLUMNS.items():
                columns = inspector.get_columns(table)
                owned = [PARENT_A, PARENT_B] + (
                    [ANONYMOUS] if table in ("activity_events", "faq_questions") else []
                )
                for n, owner in enumerate(owned, start=1):
                    row = {c["name"]: _filler(c, n) for c in columns if not c["nullable"] or c["primary_key"]}
                    if any(c["name"] == "id" for c in columns):
                        row["id"] = n if table != "users" else owner
                    for column in owners:
                        row[column] = owner
                    names = ", ".join(row)
                    marks = ", ".join(f":{k}" for k in row)
                    conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), row)
                before[table] = set(conn.execute(text(f"SELECT {_key(columns, owners)} FROM {table}")))
        migrate.upgrade(url, "0011")
        with engine.connect() as conn:
            for table, owners in OWNER_COLUMNS.items():
                key = _key(inspect(conn).get_columns(table), owners)
                after = set(conn.execute(text(f"SELECT {key} FROM {table}")))
                assert after == before[table], table
            identities = set(conn.execute(text("SELECT id, channel, external_id FROM users")))
            assert identities == {(PARENT_A, "tg", PARENT_A), (PARENT_B, "tg", PARENT_B)}
            for table in ("activity_events", "faq_questions"):
                channels = set(conn.execute(text(f"SELECT user_id, channel FROM {table}")))
                assert channels == {(PARENT_A, "tg"), (PARENT_B, "tg"), (ANONYMOUS, "tg")}, table
        # a MAX person after the upgrade: an identity of its own beside the Telegram user with
        # the same number, and a row of theirs that the downgrade must remove
        max_person = MAX_ID_BASE + PARENT_A
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, channel, external_id, role, children, is_active) "
                    "VALUES (:id, 'max', :ext, 'parent', '[]', 1)"
                ),
                {"id": max_person, "ext": PARENT_A},
            )
            columns = inspect(conn).get_columns("activity_events")
            row = {c["name"]: _filler(c, 9) for c in columns if not c["nullable"]}
            row.update(id=99, user_id=max_person, channel="max")
            names, marks = ", ".join(row), ", ".join(f":{k}" for k in row)
            conn.execute(text(f"INSERT INTO activity_events ({names}) VALUES ({marks})"), row)
        migrate.downgrade(url, "0010")  # MAX people go; every Telegram row stays
        with engine.connect() as conn:
            for table, owners in OWNER_COLUMNS.items():
                key = _key(inspect(conn).get_columns(table), owners)
                after = set(conn.execute(text(f"SELECT {key} FROM {table}")))
                assert after == before[table], table
    finally:
        engine.dispose()
