"""The periodic work runs in APScheduler, while its state stays in database rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.services.faq.service import FaqService
from bot.services.outbox import OutboxService
from db.base import utcnow
from db.models import Notice
from handlers.faq import digest_text
from tests.support.client import STAFF_CHAT_ID, BotTester


async def test_startup_schedules_the_periodic_jobs(tester: BotTester) -> None:
    dp = tester.app.dispatcher
    await dp.emit_startup(bot=tester.bot, dispatcher=dp, bots=[tester.bot], **dp.workflow_data)
    try:
        jobs = {job.id for job in tester.app.scheduler.get_jobs()}
        assert {"due-rows", "retention", "staff-digest"} <= jobs
        digest = tester.app.scheduler.get_job("staff-digest")
        assert digest is not None and "hour='9'" in str(digest.trigger)
    finally:
        await dp.emit_shutdown(bot=tester.bot, dispatcher=dp, bots=[tester.bot], **dp.workflow_data)


async def test_morning_digest_lists_open_questions_once_a_day(tester: BotTester) -> None:
    faq: FaqService = tester.app.services["faq"]
    now = utcnow()

    def render(items: list, total: int) -> str:  # type: ignore[type-arg]
        return digest_text(items, total, now)

    assert await faq.queue_digest("2026-12-01", render) is False  # nothing open: no message
    await tester.start_and_consent()
    await tester.send("/ask как подтвердить сертификат")
    assert await faq.queue_digest("2026-12-01", render) is True
    assert await faq.queue_digest("2026-12-01", render) is True  # a second run the same day…
    await tester.deliver()
    digests = [s for s in tester.sent if s.chat_id == STAFF_CHAT_ID and "Открытые вопросы" in s.text]
    assert len(digests) == 1  # …sends nothing more: the day is the dedup key
    assert "как подтвердить сертификат" in digests[0].text


async def test_retention_deletes_old_finished_notices_only(tester: BotTester) -> None:
    outbox: OutboxService = tester.app.services["outbox"]
    await tester.start_and_consent()
    await tester.send("/ask вопрос")
    await tester.send("/ask ещё вопрос")
    tester.auto_deliver = False
    await tester.send("/ask третий вопрос")  # pending: never deleted
    async with tester.db() as session:
        first = (await session.scalars(select(Notice).order_by(Notice.id))).first()
        assert first is not None
        first.created_at = utcnow() - timedelta(days=120)
    assert await outbox.clean_up() == 1
    async with tester.db() as session:
        states = (await session.scalars(select(Notice.state).order_by(Notice.id))).all()
    assert states == ["sent", "pending"]
