"""The scale-out path: the same dispatcher on PostgreSQL, dialog state in Redis."""

from __future__ import annotations

import uuid

import pytest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage

from bot.app import create_app
from bot.settings import Settings
from db import migrate
from db.models import User
from tests.support.client import ADMIN_ID, PARENT_ID, BotTester


@pytest.mark.postgres
async def test_scenario_on_postgres(settings: Settings, pg_url: str) -> None:
    import asyncio

    await asyncio.to_thread(migrate.upgrade, pg_url)
    settings.database_url = pg_url
    app = create_app(settings)
    try:
        tester = BotTester(app)
        await tester.start_and_consent(municipality="Зима")
        await tester.send("/staff add 4242", user_id=ADMIN_ID)
        async with tester.db() as session:
            user = await session.get(User, PARENT_ID)
            assert user is not None and user.municipality_id == "zima"
            assert user.consent_at is not None and user.consent_at.tzinfo is not None
            staff = await session.get(User, 4242)
            assert staff is not None and staff.role == "staff"
        await tester.send("/forget")
        await tester.click("Да, удалить")
        async with tester.db() as session:
            assert await session.get(User, PARENT_ID) is None
    finally:
        await app.engine.dispose()


@pytest.mark.redis
async def test_dialog_state_lives_in_redis(settings: Settings, redis_url: str) -> None:
    prefix = f"mocbot-test-{uuid.uuid4().hex[:8]}"
    storage = RedisStorage.from_url(redis_url, key_builder=DefaultKeyBuilder(prefix=prefix))
    app = create_app(settings, storage=storage)
    try:
        tester = BotTester(app)
        await tester.start_and_consent()
        key = StorageKey(bot_id=tester.bot.id, chat_id=PARENT_ID, user_id=PARENT_ID)
        await FSMContext(storage, key).set_state("demo:waiting")
        # a second process with its own storage object sees the same state
        other = RedisStorage.from_url(redis_url, key_builder=DefaultKeyBuilder(prefix=prefix))
        assert await other.get_state(key) == "demo:waiting"
        sent = await tester.send("/cancel")
        assert "Действие отменено" in sent[0].text
        assert await other.get_state(key) is None
        await other.close()
    finally:
        async for name in storage.redis.scan_iter(f"{prefix}:*"):
            await storage.redis.delete(name)
        await storage.close()
        await app.engine.dispose()


async def _concurrent_first_updates(url: str) -> None:
    import asyncio

    from db.engine import create_engine, create_sessionmaker
    from db.repositories.users import UserRepo

    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    try:

        async def first_update() -> int:
            async with sessions() as session:
                repo = UserRepo(session)
                await repo.ensure(777)
                user = await repo.get(777)
                await asyncio.sleep(0.05)  # both transactions open at once
                await session.commit()
                assert user is not None
                return user.id

        assert await asyncio.gather(*(first_update() for _ in range(4))) == [777] * 4
        async with sessions() as session:
            assert await session.get(User, 777) is not None
    finally:
        await engine.dispose()


async def test_new_user_with_simultaneous_updates_sqlite(db_url: str) -> None:
    await _concurrent_first_updates(db_url)


@pytest.mark.postgres
async def test_new_user_with_simultaneous_updates_postgres(pg_url: str) -> None:
    import asyncio

    await asyncio.to_thread(migrate.upgrade, pg_url)
    await _concurrent_first_updates(pg_url)
