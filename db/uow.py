"""Short units of work: the only way code outside `db/` reaches the database.

    async with database.write() as uow:          # one transaction, committed at the end
        await uow.repo(UserRepo).give_consent(user_id, now)
    # ... only now tell the person

    async with database.read() as uow:           # no write lock, nothing committed
        user = await uow.repo(UserRepo).get(user_id)

Services own these blocks and keep them short: no Telegram request, file download,
report rendering or index build happens inside one.

SQLite allows one writer at a time. Instead of letting concurrent writers collide
on the file lock (`database is locked`) or pile up in the pool, write units of work
in this process take turns on an asyncio lock, while reads run in parallel (WAL).
PostgreSQL needs no such lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

R = TypeVar("R")

_in_write: ContextVar[bool] = ContextVar("mocbot_in_write_unit", default=False)


class UnitOfWork:
    """One session; repositories are built on it on first use."""

    def __init__(self, session: AsyncSession, *, writable: bool) -> None:
        self.session = session
        self.writable = writable
        self._repos: dict[Callable[[AsyncSession], Any], Any] = {}
        self._after_commit: list[Callable[[], Awaitable[None] | None]] = []

    def repo(self, cls: Callable[[AsyncSession], R]) -> R:
        """The repository `cls` on this unit's session (one instance per unit)."""
        repo = self._repos.get(cls)
        if repo is None:
            repo = cls(self.session)
            self._repos[cls] = repo
        return repo

    def after_commit(self, callback: Callable[[], Awaitable[None] | None]) -> None:
        """Run `callback` once the transaction has committed (e.g. wake the outbox worker)."""
        self._after_commit.append(callback)


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessionmaker: async_sessionmaker[AsyncSession] = async_sessionmaker(
            engine, expire_on_commit=False
        )
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._write_lock: asyncio.Lock | None = None
        self.write_wait_total = 0.0  # seconds spent waiting for the writer's turn (diagnostics)
        self.writes = 0

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[UnitOfWork]:
        async with self.sessionmaker() as session:
            yield UnitOfWork(session, writable=False)
            if session.in_transaction():
                await session.rollback()

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[UnitOfWork]:
        if _in_write.get():
            raise RuntimeError("a write unit of work inside another one (it would wait for itself)")
        token = _in_write.set(True)
        try:
            async with self._turn(), self.sessionmaker() as session:
                uow = UnitOfWork(session, writable=True)
                try:
                    yield uow
                except BaseException:
                    await session.rollback()
                    raise
                await session.commit()
        finally:
            _in_write.reset(token)
        for callback in uow._after_commit:
            result = callback()
            if asyncio.iscoroutine(result):
                await result

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        if not self.is_sqlite:
            yield
            return
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        started = time.monotonic()
        async with self._write_lock:
            self.write_wait_total += time.monotonic() - started
            self.writes += 1
            yield

    async def dispose(self) -> None:
        await self.engine.dispose()
