"""The broadcast worker over real HTTP against the fake Bot API, and through the local Bot API:
correctness, no timing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, update

from bot.app import App, create_bot
from bot.services.activity import Kind
from bot.services.announcements.broadcasts import BroadcastCreated, BroadcastDraft, BroadcastService
from bot.services.announcements.delivery import DeliveryService
from bot.services.announcements.subscriptions import Target
from bot.workers.broadcasts import BroadcastWorker
from db.base import utcnow
from db.models import ActivityEvent, Broadcast, DeliveryPause, OutboxMessage, User
from tests.support.announce_helpers import add_subscribers
from tests.support.client import STAFF_CHAT_ID
from tests.support.fake_api import FakeBotAPI

IDS = list(range(700_000, 700_200))
BLOCKED = set(IDS[5:15])


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(blocked=set(BLOCKED), per_chat_interval=1.0) as server:
        yield server


def make_worker(app: App, api: FakeBotAPI, rate: float = 2000.0) -> BroadcastWorker:
    """A worker whose bot talks to the fake server through a sender of its own at `rate`."""
    app.settings.telegram_api_url = api.base_url
    app.settings.telegram_rate = rate
    bot = create_bot(app.settings, token="42:fake-token")
    return BroadcastWorker(bot, app.services["delivery"], app.settings, concurrency=16, tick=0.05,
                           progress_interval=0.0, retry_delays=(0.05, 0.05))  # fmt: skip


async def create_broadcast(
    app: App, text: str, *, created_by: int | None = None, progress_chat_id: int | None = None,
    photo_data: bytes | None = None,
) -> BroadcastCreated:  # fmt: skip
    broadcasts: BroadcastService = app.services["broadcasts"]
    draft = BroadcastDraft(text=text, target=Target(), created_by=created_by,
                           progress_chat_id=progress_chat_id, photo_data=photo_data)  # fmt: skip
    return await broadcasts.create(draft)


async def state_counts(app: App, broadcast_id: int) -> dict[str, int]:
    delivery: DeliveryService = app.services["delivery"]
    return await delivery.counts(broadcast_id)


async def wait_finished(app: App, broadcast_id: int, timeout: float = 20) -> Broadcast:
    async with asyncio.timeout(timeout):
        while True:
            async with app.sessionmaker() as session:
                b = await session.get(Broadcast, broadcast_id)
                assert b is not None
                if b.finished_at is not None:
                    return b
            await asyncio.sleep(0.05)


async def test_broadcast_reaches_everyone_once_through_429_403_and_5xx(app: App, api: FakeBotAPI) -> None:
    async with app.sessionmaker() as session:
        await add_subscribers(session, IDS)
        await session.commit()
    b = await create_broadcast(app, "<b>День открытых дверей</b> в субботу", created_by=9001,
                               progress_chat_id=STAFF_CHAT_ID)  # fmt: skip
    api.inject(429, "Too Many Requests: retry after 1", method="sendMessage", retry_after=1, chat_id=IDS[30])
    api.inject(500, "Internal Server Error", method="sendMessage", chat_id=IDS[50])
    api.inject(502, "Bad Gateway", method="sendMessage", chat_id=IDS[50])
    api.inject(400, "Bad Request: chat not found", method="sendMessage", chat_id=IDS[60])
    worker = make_worker(app, api)
    await worker.start()
    try:
        done = await wait_finished(app, b.id)
    finally:
        await worker.stop()
        await worker.bot.session.close()

    text = "<b>День открытых дверей</b> в субботу"
    assert api.duplicates() == 0
    delivered = {chat for (chat, t), n in api.delivered_texts.items() if t == text}
    assert delivered == set(IDS) - BLOCKED - {IDS[60]}
    assert api.too_many_requests >= 1
    assert await state_counts(app, b.id) == {"sent": 189, "blocked": 11}
    async with app.sessionmaker() as session:
        assert done.status == "done" and done.total == 200
        inactive = set(await session.scalars(select(User.id).where(User.is_active.is_(False))))
        assert inactive == BLOCKED | {IDS[60]}
        retried = await session.scalar(select(OutboxMessage.attempts).where(OutboxMessage.user_id == IDS[50]))
        assert retried == 3
        assert await session.get(DeliveryPause, "global") is not None  # the 429 pause was stored
        reached = await session.scalar(
            select(ActivityEvent.value).where(ActivityEvent.kind == Kind.BROADCAST_SENT)
        )
        assert reached == 189
    # every message carries the unsubscribe button
    first = api.sent("sendMessage", IDS[0])[0]
    assert "Отписаться" in str(first.reply_markup)
    summary = [r for r in api.sent("editMessageText", STAFF_CHAT_ID) if "завершена" in r.text]
    assert summary and "Доставлено: 189 из 200" in summary[-1].text


async def test_rows_in_flight_at_a_crash_become_uncertain_and_are_not_resent(
    app: App, api: FakeBotAPI
) -> None:
    async with app.sessionmaker() as session:
        await add_subscribers(session, IDS[:40])
        await session.commit()
    b = await create_broadcast(app, "Родительское собрание")
    # The previous process claimed the first three rows, then died: it had started them and written nothing.
    worker = make_worker(app, api)
    await worker.start_due()
    async with app.sessionmaker() as session:
        first = list(await session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id).limit(3)))
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(first)).values(state="sending")
        )
        await session.commit()
    await worker.start()
    try:
        await wait_finished(app, b.id)
    finally:
        await worker.stop()
        await worker.bot.session.close()
    assert worker.uncertain_at_start == 3
    assert api.duplicates() == 0
    assert {chat for chat in api.delivered if chat > 0} == set(IDS[3:40]) - BLOCKED
    counts = await state_counts(app, b.id)
    assert counts["uncertain"] == 3 and counts["sent"] == 37 - len(BLOCKED & set(IDS[3:40]))


async def test_pause_after_429_survives_a_restart(app: App, api: FakeBotAPI) -> None:
    from datetime import timedelta

    async with app.sessionmaker() as session:
        await add_subscribers(session, IDS[:3])
        session.add(DeliveryPause(name="global", resume_at=utcnow() + timedelta(seconds=30)))
        await session.commit()
    await create_broadcast(app, "Анонс")
    worker = make_worker(app, api)
    await worker.start()
    await asyncio.sleep(0.5)
    await worker.stop()
    await worker.bot.session.close()
    assert not api.sent("sendMessage")  # still paused: nothing was sent


async def test_cancel_running_broadcast_stops_sending(app: App, api: FakeBotAPI) -> None:
    api.latency = 0.05
    async with app.sessionmaker() as session:
        await add_subscribers(session, IDS)
        await session.commit()
    b = await create_broadcast(app, "Отменяемая", created_by=9001)
    worker = make_worker(app, api, rate=100)
    await worker.start()
    try:
        await api.wait_for(lambda: len(api.sent("sendMessage")) >= 10)
        assert await app.services["broadcasts"].cancel(b.id) is not None
        done = await wait_finished(app, b.id)
    finally:
        await worker.stop()
        await worker.bot.session.close()
    assert done.status == "cancelled"
    counts = await state_counts(app, b.id)
    async with app.sessionmaker() as session:
        pending = await session.scalar(
            select(func.count()).where(OutboxMessage.broadcast_id == b.id, OutboxMessage.state == "pending")
        )
    assert counts["cancelled"] > 100 and not pending
    assert len(api.sent("sendMessage")) < 150


async def test_two_workers_never_send_one_row_twice(app: App, api: FakeBotAPI) -> None:
    api.latency = 0.01
    first, second = make_worker(app, api), make_worker(app, api)
    await first.start()
    await second.start()
    try:
        async with app.sessionmaker() as session:
            await add_subscribers(session, IDS)
            await session.commit()
        b = await create_broadcast(app, "Два процесса")
        done = await wait_finished(app, b.id)
    finally:
        for worker in (first, second):
            await worker.stop()
            await worker.bot.session.close()
    assert api.duplicates() == 0
    assert {chat for chat in api.delivered if chat > 0} == set(IDS) - BLOCKED
    assert done.total == len(IDS)


@pytest.mark.postgres
async def test_delivery_on_postgresql(pg_url: str, settings: object, api: FakeBotAPI) -> None:
    from aiogram.fsm.storage.memory import MemoryStorage

    from bot.app import create_app
    from bot.settings import Settings
    from db import migrate

    assert isinstance(settings, Settings)
    await asyncio.to_thread(migrate.upgrade, pg_url)
    pg_app = create_app(settings.model_copy(update={"database_url": pg_url}), storage=MemoryStorage())
    try:
        async with pg_app.sessionmaker() as session:
            await add_subscribers(session, IDS[:50])
            await session.commit()
        b = await create_broadcast(pg_app, "PostgreSQL")
        worker = make_worker(pg_app, api)
        await worker.start()
        try:
            await wait_finished(pg_app, b.id)
        finally:
            await worker.stop()
            await worker.bot.session.close()
        counts = await state_counts(pg_app, b.id)
        assert counts == {"sent": 50 - len(BLOCKED & set(IDS[:50])), "blocked": len(BLOCKED & set(IDS[:50]))}
        assert api.duplicates() == 0
    finally:
        await pg_app.engine.dispose()


async def test_photo_is_uploaded_once_then_sent_by_file_id(app: App, api: FakeBotAPI) -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "green").save(buffer, format="JPEG")
    async with app.sessionmaker() as session:
        await add_subscribers(session, IDS[20:30])
        await session.commit()
    b = await create_broadcast(app, "Фото-анонс", photo_data=buffer.getvalue())
    worker = make_worker(app, api)
    await worker.start()
    try:
        await wait_finished(app, b.id)
    finally:
        await worker.stop()
        await worker.bot.session.close()
    photos = api.sent("sendPhoto")
    assert len(photos) == 10 and api.duplicates() == 0
    uploads = [r for r in photos if isinstance(r.params.get("photo"), dict)]
    assert len(uploads) == 1 and uploads[0].params["photo"]["bytes"] == buffer.getvalue()
    assert all(r.params["photo"] == "fake-photo-1" for r in photos if r not in uploads)
    async with app.sessionmaker() as session:
        stored = await session.get(Broadcast, b.id)
        assert stored is not None and stored.photo_file_id == "fake-photo-1"

