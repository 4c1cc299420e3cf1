"""The broadcast worker over real HTTP against the fake Bot API, and through the local Bot API:
correctness, no timing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

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
from tests.support.client import ADMIN_ID, STAFF_CHAT_ID, BotTester
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


# --- through the dispatcher and the local Bot API ------------------------------------------------
RECIPIENTS = [2001, 2002, 2003, 2004]
TEXT = "Родительское собрание в четверг"


async def staff_send_now(tester: BotTester) -> int:
    """A staff member composes a broadcast to every subscriber and sends it now; its id."""
    async with tester.db() as session:
        await add_subscribers(session, RECIPIENTS)
    await tester.send("/broadcast", user_id=ADMIN_ID)
    await tester.send(TEXT, user_id=ADMIN_ID)
    await tester.click("Без фото", user_id=ADMIN_ID)
    await tester.click("Всем подписчикам", user_id=ADMIN_ID)
    sent = await tester.click("Отправить сейчас", user_id=ADMIN_ID)
    assert "поставлена в очередь" in sent[-1].text
    async with tester.db() as session:
        b = (await session.scalars(select(Broadcast))).one()
        assert b.progress_message_id == sent[-1].message_id  # the worker edits it: no other staff message
        return b.id


async def run_local_worker(tester: BotTester, broadcast_id: int) -> BroadcastWorker:
    worker = BroadcastWorker(tester.bot, tester.app.services["delivery"], tester.app.settings, tick=0.02,
                             progress_interval=0.2, retry_delays=(0.05,))  # fmt: skip
    await worker.start()
    try:
        await wait_finished(tester.app, broadcast_id, timeout=10)
    finally:
        await worker.stop()
    return worker


def timed_requests(tester: BotTester, monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, str, int]]:
    """(time, method, chat) of every request the local Bot API receives from now on."""
    seen: list[tuple[float, str, int]] = []
    original = tester.session.make_request

    async def make_request(bot: Any, method: Any, timeout: int | None = None) -> Any:
        seen.append((time.monotonic(), type(method).__name__, int(getattr(method, "chat_id", 0) or 0)))
        return await original(bot, method, timeout)

    monkeypatch.setattr(tester.session, "make_request", make_request)
    return seen


async def test_a_broadcast_send_failing_with_502_is_retried_on_its_row_and_delivered_once(
    tester: BotTester, monkeypatch: pytest.MonkeyPatch
) -> None:
    broadcast_id = await staff_send_now(tester)
    requests = timed_requests(tester, monkeypatch)
    tester.session.fail_next(502, "Bad Gateway", method="SendMessage")
    await run_local_worker(tester, broadcast_id)

    assert not tester.session._errors, "no SendMessage took the injected 502"
    sends = [(at, chat) for at, method, chat in requests if method == "SendMessage"]
    failed_chat = sends[0][1]
    assert failed_chat in RECIPIENTS
    # the sender did not repeat it at once: the worker put the row back and sent it again later
    assert [chat for _, chat in sends].count(failed_chat) == 2
    delivered = [s.chat_id for s in tester.sent if s.text == TEXT and s.chat_id != ADMIN_ID]
    assert sorted(delivered) == RECIPIENTS  # one message each, the failed one included
    async with tester.db() as session:
        rows = {
            user_id: (state, attempts)
            for user_id, state, attempts in await session.execute(
                select(OutboxMessage.user_id, OutboxMessage.state, OutboxMessage.attempts)
            )
        }
    assert rows[failed_chat] == ("sent", 2)
    assert all(rows[uid] == ("sent", 1) for uid in RECIPIENTS if uid != failed_chat)
    assert await state_counts(tester.app, broadcast_id) == {"sent": 4}
    summary = tester.last(ADMIN_ID)
    assert "завершена" in summary.text and "Доставлено: 4 из 4" in summary.text


async def test_a_429_during_a_broadcast_pauses_it_and_everyone_gets_one_message(
    tester: BotTester, monkeypatch: pytest.MonkeyPatch
) -> None:
    broadcast_id = await staff_send_now(tester)
    requests = timed_requests(tester, monkeypatch)
    tester.session.fail_next(429, "Too Many Requests: retry after 1", method="SendMessage", retry_after=1)
    started = utcnow()
    await run_local_worker(tester, broadcast_id)

    assert not tester.session._errors, "no SendMessage took the injected 429"
    sends = [(at, chat) for at, method, chat in requests if method == "SendMessage"]
    refused_at, refused_chat = sends[0]
    # nothing went out during the pause; the refused message was repeated after it
    assert all(at - refused_at >= 0.9 for at, _ in sends[1:])
    assert [chat for _, chat in sends].count(refused_chat) == 2
    delivered = [s.chat_id for s in tester.sent if s.text == TEXT and s.chat_id != ADMIN_ID]
    assert sorted(delivered) == RECIPIENTS
    async with tester.db() as session:
        attempts = list(await session.scalars(select(OutboxMessage.attempts)))
        pause = await session.get(DeliveryPause, "global")
    assert attempts == [1, 1, 1, 1]  # the sender waited the 429 out inside the one attempt
    assert pause is not None and pause.resume_at > started  # stored: a restart would wait too
    assert await state_counts(tester.app, broadcast_id) == {"sent": 4}


async def test_a_late_start_is_told_to_staff_through_the_notice_outbox(tester: BotTester) -> None:
    from datetime import timedelta

    from db.models import Notice

    async with tester.db() as session:
        await add_subscribers(session, [2001])
        session.add(Broadcast(kind="broadcast", status="scheduled", text="Опоздавшая", target={},
                              scheduled_at=utcnow() - timedelta(hours=3), total=0))  # fmt: skip
    worker = BroadcastWorker(tester.bot, tester.app.services["delivery"], tester.app.settings)
    await worker.start_due()
    # the note is a committed outbox row before anything is sent: a restart does not lose it
    async with tester.db() as session:
        notice = (await session.scalars(select(Notice))).one()
        b = (await session.scalars(select(Broadcast))).one()
    assert notice.state == "pending" and notice.chat_id == STAFF_CHAT_ID
    assert "с опозданием на 3 ч" in notice.text and b.status == "running" and b.total == 1
    await tester.deliver()
    assert any("с опозданием на 3 ч" in s.text for s in tester.sent if s.chat_id == STAFF_CHAT_ID)
