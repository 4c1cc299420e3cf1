"""Features working together: what each one logs reaches the annual report."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.cli.outreach import feature_report_sources
from bot.services.announcements.events import EventDraft, EventService
from bot.services.outreach.periods import date_range
from bot.services.outreach.render import paragraph
from bot.services.outreach.service import ReportService
from bot.services.outreach.tables import build_tables
from bot.views.announcements import reminder_texts
from db.base import utcnow
from tests.support.client import ADMIN_ID, BotTester


async def test_every_feature_reaches_the_report(tester: BotTester, caplog: pytest.LogCaptureFixture) -> None:
    app = tester.app
    assert await app.services["catalogue"].load_demo_if_empty(app.content.current) > 150
    draft = EventDraft(
        title="День открытых дверей в ДДТ",
        starts_at=utcnow() + timedelta(days=3),
        timezone=app.settings.timezone,
        place="ДДТ, актовый зал",
        organisation="МБУ ДО «ДДТ»",
        directions=("tech",),
        audience="parents",
        capacity=None,
        description="Покажем все кружки.",
        municipality_id="sayansk",
    )
    events: EventService = app.services["events"]
    event = await events.create(draft, created_by=ADMIN_ID, reminder_texts=reminder_texts(draft))
    await tester.start_and_consent()
    await tester.send("как получить сертификат")  # FAQ
    await tester.send("какая погода завтра")  # FAQ fallback
    await tester.send("робототехника для 10 лет")  # catalogue
    await tester.send("/subscribe")
    await tester.send("/events")
    await tester.click("День открытых дверей")
    await tester.click("Пойду")
    await tester.send("/log 2026-03-14 родители 70 Родительское собрание: соцсертификаты", user_id=ADMIN_ID)

    today = utcnow().astimezone(app.settings.tz).date()
    period = date_range(today - timedelta(days=300), today + timedelta(days=10), app.settings.tz)
    with caplog.at_level(logging.WARNING):
        typed = await ReportService(app.database, app.settings, feature_report_sources()).build(period)
    report = typed.as_dict()
    assert not [r for r in caplog.records if "unexpected shape" in r.getMessage()]
    assert report["sources_failed"] == []
    assert report["outreach"]["parents"]["events"] >= 1
    assert report["sources"]["catalogue"]["total"] >= 150
    assert any("погода" in q["text"] for q in report["sources"]["faq_unanswered"])
    assert [d["title"] for d in report["sources"]["open_days"]] == [event.title]
    assert report["sources"]["open_days"][0]["signups"] == 1
    titles = {t.sheet for t in build_tables(typed)}
    assert {"Каталог", "Вопросы без ответа"} <= titles
    text = paragraph(typed, "За период")
    assert "мероприятие" in text and "программ художественной направленности" in text  # the most in the demo


@pytest.mark.postgres
async def test_last_place_goes_to_one_parent_on_postgres(pg_url: str) -> None:
    """Parents pressing «Пойду» at the same instant never exceed the capacity."""
    import asyncio

    from bot.services.announcements.events import SignupError
    from bot.services.users import UserRecord
    from bot.settings import Settings
    from db import migrate
    from db.engine import create_engine
    from db.models import EventSignup, User
    from db.uow import Database

    await asyncio.to_thread(migrate.upgrade, pg_url)
    database = Database(create_engine(pg_url))
    events = EventService(database, Settings(_env_file=None, bot_token=None, database_url=pg_url))  # type: ignore[call-arg]
    try:
        draft = EventDraft(
            title="Мастер-класс",
            starts_at=utcnow() + timedelta(days=1),
            timezone="Asia/Irkutsk",
            place="ДДТ",
            organisation="ДДТ",
            directions=(),
            audience="parents",
            capacity=1,
            description="",
            municipality_id=None,
        )
        event = await events.create(draft, created_by=None, reminder_texts=reminder_texts(draft))
        async with database.sessionmaker() as session:
            for uid in range(1, 9):
                session.add(User(id=uid, child_ages=[], role="parent", is_active=True))
            await session.commit()

        async def try_sign_up(uid: int) -> bool:
            try:
                result = await events.sign_up(event.id, UserRecord(id=uid))
            except SignupError:
                return False
            assert result is not None
            return result.changed

        results = await asyncio.gather(*(try_sign_up(uid) for uid in range(1, 9)))
        assert sum(results) == 1
        async with database.sessionmaker() as session:
            from sqlalchemy import func, select

            count = await session.scalar(select(func.count()).where(EventSignup.event_id == event.id))
            assert count == 1
    finally:
        await database.dispose()
