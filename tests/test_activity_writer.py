"""Activity logging off the hot path: ActivityWriter, commit/rollback semantics, the sync path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.services import privacy
from bot.services.activity import ActivityWriter, Kind, record
from db import migrate
from db.engine import create_engine, create_sessionmaker
from db.models import ActivityEvent
from db.uow import Database, UnitOfWork
from tests.support.client import PARENT_ID, BotTester


@dataclass
class Db:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]

    async def count(self, **where: object) -> int:
        async with self.sessionmaker() as session:
            query = select(func.count()).select_from(ActivityEvent)
            for name, value in where.items():
                query = query.where(getattr(ActivityEvent, name) == value)
            return int(await session.scalar(query) or 0)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Db]:
    engine = create_engine(db_url)
    yield Db(engine, create_sessionmaker(engine))
    await engine.dispose()


@pytest.fixture
async def writer(db: Db) -> AsyncIterator[ActivityWriter]:
    # A long interval: rows are written only by a full batch, flush() or stop().
    activity_writer = ActivityWriter(Database(db.engine), interval=60, batch_size=500)
    await activity_writer.start()
    yield activity_writer
    await activity_writer.stop()


async def test_sync_path_without_a_writer_inserts_in_the_transaction(db: Db) -> None:
    async with db.sessionmaker() as session:
        await record(session, Kind.FAQ_QUESTION, user_id=1, topic="x" * 300, outcome="answer")
        # visible inside the transaction (autoflush), as before the writer existed
        assert await session.scalar(select(func.count()).select_from(ActivityEvent)) == 1
        await session.commit()
    async with db.sessionmaker() as session:
        row = (await session.scalars(select(ActivityEvent))).one()
        assert row.kind == "faq.question" and row.outcome == "answer" and row.topic == "x" * 128
    async with db.sessionmaker() as session:
        await record(session, Kind.FAQ_QUESTION, user_id=2)
        await session.rollback()
    assert await db.count() == 1


async def test_commit_delivers_to_the_writer_and_stop_flushes(db: Db, writer: ActivityWriter) -> None:
    async with db.sessionmaker() as session:
        await record(session, Kind.PROGRAM_SEARCH, user_id=7, topic="tech", age=9, value=3.0)
        assert not session.new  # nothing for the unit of work: only a dict in session.info
        await session.commit()
    assert writer.buffered == 1
    assert await db.count() == 0  # not yet written: the writer batches
    await writer.stop()
    assert writer.buffered == 0 and writer.batches == 1
    async with db.sessionmaker() as session:
        row = (await session.scalars(select(ActivityEvent))).one()
    assert (row.kind, row.user_id, row.topic, row.age, row.value) == ("catalogue.search", 7, "tech", 9, 3.0)
    assert row.occurred_at.tzinfo is not None


async def test_rollback_and_close_without_commit_discard(db: Db, writer: ActivityWriter) -> None:
    async with db.sessionmaker() as session:
        await record(session, Kind.FAQ_QUESTION, user_id=1)
        await session.rollback()
        await session.commit()  # a later commit of the same session does not resurrect it
    async with db.sessionmaker() as session:
        await record(session, Kind.FAQ_QUESTION, user_id=2)
    # closed without commit
    async with db.sessionmaker() as session:
        await record(session, Kind.FAQ_QUESTION, user_id=3)
        try:
            async with session.begin_nested():
                await record(session, Kind.FAQ_QUESTION, user_id=4)
                raise RuntimeError("inner failure")
        except RuntimeError:
            pass
        async with session.begin_nested():
            await record(session, Kind.FAQ_QUESTION, user_id=5)
        await session.commit()
    assert writer.buffered == 2
    await writer.flush()
    async with db.sessionmaker() as session:
        users = sorted((await session.scalars(select(ActivityEvent.user_id))).all())
    assert users == [3, 5]


async def test_writer_batches_and_writes_on_its_own(db: Db) -> None:
    activity_writer = ActivityWriter(Database(db.engine), interval=0.05, batch_size=100)
    await activity_writer.start()
    try:
        for chunk in range(5):
            async with db.sessionmaker() as session:
                for i in range(50):
                    await record(session, Kind.FAQ_QUESTION, user_id=chunk * 50 + i)
                await session.commit()
        for _ in range(100):
            if await db.count() == 250:
                break
            await asyncio.sleep(0.02)
        assert await db.count() == 250  # written by the background task, before stop()
        assert 3 <= activity_writer.batches < 250  # whole batches of <= 100 rows, not row by row
    finally:
        await activity_writer.stop()
    assert activity_writer.written == 250


async def test_stopped_writer_falls_back_to_the_transaction(db: Db) -> None:
    activity_writer = ActivityWriter(Database(db.engine), interval=60)
    await activity_writer.start()
    with pytest.raises(RuntimeError):
        await ActivityWriter(Database(db.engine)).start()  # one writer per engine
    async with db.sessionmaker() as session:
        await record(session, Kind.SUBSCRIBED, user_id=1)
        await activity_writer.stop()  # stops between record() and commit
        await session.commit()
    assert await db.count() == 1


async def test_forget_anonymises_buffered_rows(db: Db, writer: ActivityWriter) -> None:
    async with db.sessionmaker() as session:
        await record(session, Kind.SUBSCRIBED, user_id=PARENT_ID)
        await record(session, Kind.SUBSCRIBED, user_id=2)
        await session.commit()
    async with db.sessionmaker() as session:
        await privacy.CORE_OWNER.forget(UnitOfWork(session, writable=True), PARENT_ID, -5)
        await session.rollback()  # a cancelled forget changes nothing
    async with db.sessionmaker() as session:
        await privacy.CORE_OWNER.forget(UnitOfWork(session, writable=True), PARENT_ID, -5)
        await session.commit()
    await writer.flush()
    assert await db.count(user_id=PARENT_ID) == 0
    assert await db.count(user_id=2) == 1 and await db.count() == 2


async def test_the_bot_started_writes_through_the_writer(tester: BotTester) -> None:
    dp = tester.app.dispatcher
    await dp.emit_startup(bot=tester.bot, dispatcher=dp, bots=[tester.bot], **dp.workflow_data)
    try:
        await tester.start_and_consent()
        await tester.send("/subscribe")
        async with tester.db() as session:
            assert await session.scalar(select(func.count()).select_from(ActivityEvent)) == 0
    finally:
        await dp.emit_shutdown(bot=tester.bot, dispatcher=dp, bots=[tester.bot], **dp.workflow_data)
    engine = create_engine(tester.app.settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            kinds = (await session.scalars(select(ActivityEvent.kind))).all()
    finally:
        await engine.dispose()
    assert kinds == ["subscription.on"]  # written on shutdown


async def test_writer_on_postgres(pg_url: str) -> None:
    await migrate.upgrade_async(pg_url)
    engine = create_engine(pg_url)
    db = Db(engine, create_sessionmaker(engine))
    activity_writer = ActivityWriter(Database(db.engine), interval=60, batch_size=3)
    await activity_writer.start()
    try:
        async with db.sessionmaker() as session:
            for i in range(7):
                await record(session, Kind.HANDOFF_ANSWERED, user_id=i, value=float(i), ref=f"q{i}")
            await session.commit()
        async with db.sessionmaker() as session:
            await record(session, Kind.HANDOFF_ANSWERED, user_id=99)
            await session.rollback()
        await activity_writer.stop()
        assert activity_writer.batches == 3
        assert await db.count() == 7 and await db.count(user_id=99) == 0
        async with db.sessionmaker() as session:
            await record(session, Kind.HANDOFF_ANSWERED, user_id=8)  # no writer: the sync path
            await session.commit()
        assert await db.count() == 8
    finally:
        await db.engine.dispose()


async def test_rows_follow_the_writer_that_was_running_when_the_commit_began(
    db: Db, writer: ActivityWriter
) -> None:
    from sqlalchemy import event

    from db.base import utcnow
    from db.models import User
    from db.repositories import activity

    async with db.sessionmaker() as session:
        await record(session, Kind.SUBSCRIBED, user_id=5)
        session.add(User(id=5, first_seen_at=utcnow(), last_seen_at=utcnow(), child_ages=[]))

        def unregister(*_: object) -> None:
            # what stop() does first, here in the middle of the commit (after before_commit)
            activity._WRITERS.pop(db.engine.sync_engine, None)

        event.listen(session.sync_session, "after_flush", unregister)
        await session.commit()
    assert writer.buffered == 1  # neither lost nor inserted twice
    await writer.stop()
    assert await db.count(user_id=5) == 1
