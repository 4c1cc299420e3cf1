"""How the outreach feature sits in the app: its parts(), reads that write nothing, report sources."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.app import App
from bot.cli import outreach as cli
from bot.services.outreach import parts
from bot.services.outreach.periods import calendar_year
from bot.services.outreach.service import ReportService
from bot.services.plugins import ReportScope
from db.models import OutreachActivity, OutreachAudit
from db.repositories.users import UserRecord
from db.uow import UnitOfWork
from tests.support.client import ADMIN_ID, BotTester

STAFF = 5555


async def test_parts_declare_the_log_as_a_data_owner(tester: BotTester) -> None:
    app = tester.app
    await tester.send(f"/staff add {STAFF}", user_id=ADMIN_ID)
    await tester.send("/log 2025-03-14 родители 70 Собрание", user_id=STAFF)
    await tester.send("/log 2025-03-15 родители 30 Собрание", user_id=STAFF)
    feature = parts()
    assert feature.name == "outreach" and feature.report_sources == {} and feature.console_hooks == ()
    owner = feature.data_owner
    assert owner is not None and owner.name == "outreach"
    async with app.database.read() as uow:
        lines = await owner.describe(uow, UserRecord(id=STAFF), app.content.current, app.settings.tz)
        nobody = await owner.describe(uow, UserRecord(id=1001), app.content.current, app.settings.tz)
    assert lines == [
        "• Мероприятий МОЦ, записанных вами в журнал для отчёта: 2",
        "• Записей в истории изменений журнала мероприятий от вашего имени: 2",
    ]
    assert nobody == []
    async with app.database.write() as uow:
        await owner.forget(uow, STAFF, -42)
    async with tester.db() as session:
        assert set((await session.scalars(select(OutreachActivity.logged_by))).all()) == {-42}
        assert set((await session.scalars(select(OutreachAudit.actor_id))).all()) == {-42}


async def test_reading_the_log_and_the_report_takes_no_write_unit(tester: BotTester) -> None:
    database = tester.app.database
    await tester.send(f"/staff add {STAFF}", user_id=ADMIN_ID)
    await tester.send("/log 2025-03-14 родители 70 Собрание", user_id=STAFF)
    writes = database.writes
    for command in ("/log list", "/report", "/report 2025"):
        await tester.send(command, user_id=STAFF)
    await tester.click("✏️", user_id=STAFF)  # the entry's edit card
    await tester.click("Готово", user_id=STAFF)
    await tester.send("/log list", user_id=STAFF)
    await tester.click("🗑", user_id=STAFF)  # the confirmation question
    await tester.click("Оставить", user_id=STAFF)
    assert database.writes == writes


async def test_report_sources_read_in_their_own_units(app: App, caplog: Any) -> None:
    scopes: list[ReportScope] = []

    async def counts(uow: UnitOfWork, scope: ReportScope) -> Any:
        scopes.append(scope)
        assert not uow.writable
        return {"n": 1}

    async def broken(uow: UnitOfWork, scope: ReportScope) -> Any:
        raise RuntimeError("boom")

    service = ReportService(app.database, app.settings, {"zz": broken, "aa": counts})
    report = await service.build(calendar_year(2025, app.settings.tz), "zima", "Зима")
    assert report.sources == {"aa": {"n": 1}} and report.sources_failed == ("zz",)
    assert scopes[0].municipality_id == "zima"
    assert report.as_dict()["sources"] == {"aa": {"n": 1}}


def test_the_cli_collects_every_features_report_sources() -> None:
    """The CLI's report sees the same features as the bot: bot.wiring names them once."""
    assert set(cli.feature_report_sources()) == {"catalogue", "open_days", "faq_unanswered"}
