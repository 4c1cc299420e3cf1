"""Stairway: upgrade -> downgrade -> upgrade over every revision."""

from __future__ import annotations

import asyncio
from pathlib import Path

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
