"""The one dialect-specific statement the shared code needs: insert, or do nothing
when the primary key exists. SQLite and PostgreSQL spell it the same way but
through their own constructs; anything else falls back to a savepoint."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore(session: AsyncSession, table: Table, values: dict[str, Any]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING, portable between SQLite and PostgreSQL."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        await session.execute(sqlite_insert(table).values(**values).on_conflict_do_nothing())
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        await session.execute(pg_insert(table).values(**values).on_conflict_do_nothing())
    else:  # pragma: no cover - other databases are not supported targets
        try:
            async with session.begin_nested():
                await session.execute(table.insert().values(**values))
        except IntegrityError:
            pass
