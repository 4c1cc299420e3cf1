"""The report: SQL aggregation, the paragraph, and every format."""

from __future__ import annotations

import csv
import io
import json
import struct
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.services.activity import Kind
from bot.services.outreach import render
from bot.services.outreach.chart import to_png
from bot.services.outreach.log import ActivityInput
from bot.services.outreach.model import Report
from bot.services.outreach.periods import Period, academic_year, calendar_year
from bot.services.outreach.service import ReportService
from bot.services.plugins import ReportScope, ReportSource
from db.base import utcnow
from db.identity import MAX_ID_BASE
from db.repositories.outreach import OutreachRepo
from db.uow import Database, UnitOfWork
from tests.conftest import IN_CI
from tests.support.outreach_helpers import BATAYSK, SEEDS, event, log_bataysk

TZ = ZoneInfo("Asia/Irkutsk")


async def _typed(
    app: App,
    period: Period,
    municipality: str | None = None,
    municipality_name: str | None = None,
    sources: dict[str, ReportSource] | None = None,
) -> Report:
    return await ReportService(app.database, app.settings, sources).build(
        period, municipality, municipality_name
    )


async def _report(app: App, period: Period, municipality: str | None = None, **kw: Any) -> dict[str, Any]:
    """The report as its JSON shape (what `mocbot report --format json` prints)."""
    return (await _typed(app, period, municipality, **kw)).as_dict()


async def _log(database: Database, item: ActivityInput, actor: int | None) -> None:
    async with database.write() as uow:
        await uow.repo(OutreachRepo).create(item, logged_by=actor, source="bot", at=utcnow())


async def test_bataysk_figures_give_the_seed_sentence(app: App) -> None:
    await log_bataysk(app.database)
    typed = await _typed(app, calendar_year(2025, TZ))
    report = typed.as_dict()
    for audience, figures in BATAYSK["outreach"].items():
        assert report["outreach"][audience] == figures
    assert report["outreach"]["other"] == {"events": 0, "reached": 0}
    assert report["outreach"]["total"] == {"events": 93, "reached": 4976}
    text = render.paragraph(typed, calendar_year(2025, TZ).phrase)
    # The seed writes «1734 человек»; the number agreement the issue asks for gives «1734 человека»
    # (as «3102 человека» in the same sentence), the one word that differs.
    expected = BATAYSK["seed_sentence"].replace("1734 человек,", "1734 человека,")
    assert text.startswith(expected + " Всего — 93 мероприятия с охватом 4976 человек.")
    # the kinds, most first, each with its own noun agreeing with the number
    assert text.endswith(
        "Среди них 45 родительских собраний, 33 мастер-класса и 15 семинаров (методических совещаний)."
    )


async def test_periods_cut_at_local_midnight_and_by_municipality(app: App) -> None:
    for held_on, mun in ((date(2024, 8, 31), "sayansk"), (date(2024, 9, 1), "sayansk"),
                         (date(2025, 8, 31), "zima"), (date(2025, 9, 1), "sayansk")):  # fmt: skip
        await _log(app.database, ActivityInput(held_on, "Собрание", "meeting", "parents", 10, mun), 1)
    async with app.sessionmaker() as session:
        # 2024-08-31 15:30 UTC is 23:30 in Irkutsk (outside); 16:30 UTC is already 1 September there
        session.add(event(str(Kind.SUBSCRIBED), datetime(2024, 8, 31, 15, 30, tzinfo=UTC), user_id=1))
        session.add(event(str(Kind.SUBSCRIBED), datetime(2024, 8, 31, 16, 30, tzinfo=UTC), user_id=2,
                          municipality_id="zima"))  # fmt: skip
        await session.commit()
    period = academic_year(2024, TZ)
    report = await _report(app, period)
    assert report["period"] == {"from": "2024-09-01", "to": "2025-08-31", "kind": "academic",
                                "label": "2024/2025 учебный год", "timezone": "Asia/Irkutsk"}  # fmt: skip
    assert report["outreach"]["parents"] == {"events": 2, "reached": 20}
    assert report["bot"]["subscriptions"]["subscribed"] == 1
    zima = await _report(app, period, "zima")
    assert zima["outreach"]["total"]["events"] == 1 and zima["bot"]["subscriptions"]["subscribed"] == 1
    sayansk = await _report(app, period, "sayansk")
    assert sayansk["outreach"]["total"]["events"] == 1 and sayansk["bot"]["subscriptions"]["subscribed"] == 0
    months = {m["month"]: m for m in report["by_month"]}
    assert next(iter(months)) == "2024-09" and list(months)[-1] == "2025-08"
    assert months["2024-09"]["parents"] == 10 and months["2025-08"]["parents"] == 10


async def _bot_events(session: AsyncSession) -> None:
    faq = str(Kind.FAQ_QUESTION)
    rows = [
        *(event(faq, user_id=u, topic="certificate-what", outcome="answer") for u in (1, 1, 2, 3)),
        event(faq, user_id=4, topic="navigator-register", outcome="suggest"),
        event(faq, user_id=4, outcome="fallback"),
        event(faq, user_id=5, outcome="smalltalk"),
        event(str(Kind.HANDOFF_CREATED), user_id=4, ref="q1"),
        event(str(Kind.HANDOFF_CREATED), user_id=6, ref="q2"),
        event(str(Kind.HANDOFF_CREATED), user_id=7, ref="q3"),
        event(str(Kind.HANDOFF_ANSWERED), user_id=4, ref="q1", value=600),
        event(str(Kind.HANDOFF_ANSWERED), user_id=6, ref="q2", value=1800),
        event(str(Kind.HANDOFF_ANSWERED), user_id=7, ref="q3", value=7200),
        event(str(Kind.PROGRAM_SEARCH), user_id=1, topic="tech", age=10, value=4),
        event(str(Kind.PROGRAM_SEARCH), user_id=2, topic="tech", age=10, value=0),
        event(str(Kind.PROGRAM_SEARCH), user_id=2, topic=None, age=None, value=12),
        event(str(Kind.BROADCAST_SENT), ref="b1", value=120),
        event(str(Kind.BROADCAST_SENT), ref="b2", value=95),
        event(str(Kind.EVENT_SIGNUP), user_id=1, ref="e1", topic="День открытых дверей"),
        event(str(Kind.EVENT_SIGNUP), user_id=2, ref="e1", topic="День открытых дверей"),
        event(str(Kind.EVENT_SIGNUP_CANCELLED), user_id=2, ref="e1"),
        event("quiz.played", user_id=9),  # a kind added later by some feature
    ]
    session.add_all(rows)
    await session.commit()


async def test_bot_figures_are_apart_from_the_outreach_table(app: App) -> None:
    async with app.sessionmaker() as session:
        await _bot_events(session)
    typed = await _typed(app, calendar_year(2025, TZ))
    report = typed.as_dict()
    assert report["outreach"]["total"] == {"events": 0, "reached": 0}
    bot = report["bot"]
    assert bot["consultations"] == {
        "questions": 6, "people": 5, "answered": 4, "suggested": 1, "fallback": 1, "smalltalk": 1,
        "answered_without_staff": 5, "share_without_staff": 0.8333,
    }  # fmt: skip
    assert bot["top_topics"] == [{"topic": "certificate-what", "questions": 4},
                                 {"topic": "navigator-register", "questions": 1}]  # fmt: skip
    assert bot["handoffs"] == {"created": 3, "people": 3, "answered": 3, "median_answer_seconds": 1800.0}
    tech = next(d for d in bot["search"]["by_direction"] if d["direction"] == "tech")
    assert tech == {"direction": "tech", "title": "техническая", "searches": 2, "no_results": 1}
    assert bot["search"]["no_results"] == 1 and bot["search"]["people"] == 2
    assert bot["search"]["by_age"] == [{"age": 10, "searches": 2}, {"age": None, "searches": 1}]
    assert bot["broadcasts"]["count"] == 2 and bot["broadcasts"]["reached"] == 215
    assert bot["event_signups"]["by_event"] == [
        {"ref": "e1", "title": "День открытых дверей", "signups": 2, "people": 2, "cancelled": 1}
    ]
    assert bot["by_kind"]["quiz.played"] == {"events": 1, "people": 1}
    text = render.paragraph(typed, "В 2025 году")
    book = load_workbook(io.BytesIO(render.to_xlsx(typed)))
    assert list(book["Поиск по возрасту"].iter_rows(values_only=True)) == [
        ("Возраст, лет", "Запросов"), (10, 2), ("не указан", 1), ("Итого", 3)
    ]  # fmt: skip
    assert list(book["Поиск по направленностям"].iter_rows(values_only=True))[1] == ("техническая", 2, 1)
    assert ("Бот не нашёл ответа", 1) in list(book["Работа бота"].iter_rows(values_only=True))
    assert "В 2025 году мероприятия в журнал МОЦ не вносились." in text
    assert (
        "Через чат-бот МОЦ 5 человек задали 6 вопросов; на 83 % из них бот ответил сам, без специалиста."
        in text
    )
    assert "Специалистам передано 3 вопроса; половина ответов пришла быстрее чем за 30 мин." in text
    assert "Кружки и секции в чат-боте искали 2 человека (3 запроса)." in text
    assert "Подписчикам отправлены 2 рассылки, доставлено 215 сообщений." in text
    assert " — " not in text.split("\n\n", 1)[1]  # no «… — N» lists any more


async def test_even_median_and_empty_bot(app: App) -> None:
    async with app.sessionmaker() as session:
        for v in (100, 300, 200, 400):
            session.add(event(str(Kind.HANDOFF_ANSWERED), value=v))
        await session.commit()
    report = await _typed(app, calendar_year(2025, TZ))
    assert report.bot.handoffs.median_answer_seconds == 250.0
    empty = await _typed(app, calendar_year(2024, TZ))
    assert empty.bot.consultations.share_without_staff is None
    assert render.paragraph(empty, "В 2024 году") == "В 2024 году мероприятия в журнал МОЦ не вносились."


SEEN: list[ReportScope] = []


async def _catalogue(uow: UnitOfWork, scope: ReportScope) -> Any:
    SEEN.append(scope)
    return {"by_direction": BATAYSK["programs_by_direction"], "ovz": {"art": 3, "sport": 2}}


async def _unanswered(uow: UnitOfWork, scope: ReportScope) -> Any:
    return [{"text": "Можно ли <b>два</b> кружка & секцию?", "count": 4}]


async def _open_days(uow: UnitOfWork, scope: ReportScope) -> Any:
    return [{"title": "День открытых дверей ДДТ", "date": "2025-08-28", "signups": 37}]


async def _broken(uow: UnitOfWork, scope: ReportScope) -> Any:
    raise RuntimeError("boom")


async def _unknown(uow: UnitOfWork, scope: ReportScope) -> Any:
    return {"anything": 1}


SOURCES: dict[str, ReportSource] = {
    "catalogue": _catalogue,
    "faq_unanswered": _unanswered,
    "open_days": _open_days,
    "zz_broken": _broken,
    "quiz": _unknown,
}


async def test_sources_and_every_format(app: App, caplog: Any) -> None:
    caplog.set_level("ERROR")
    SEEN.clear()
    await log_bataysk(app.database, municipality_id="zima")
    await _log(app.database, ActivityInput(date(2025, 5, 5), "Публикация", "publication", "other", 5000,
                                           "zima", organisation="Газета", directions=("tech", "art"),
                                           format="online"), None)  # fmt: skip
    async with app.sessionmaker() as session:
        await _bot_events(session)
    typed = await _typed(app, calendar_year(2025, TZ), "zima", municipality_name="Зима", sources=SOURCES)
    report = typed.as_dict()
    assert SEEN[0].municipality_id == "zima"
    assert report["sources"]["catalogue"]["by_direction"]["sport"] == 52
    assert report["sources"]["quiz"] == {"anything": 1}
    assert report["sources_failed"] == ["zz_broken"] and "zz_broken" in caplog.text
    text = render.paragraph(typed, "В 2025 году")
    # the seed's figures (000_…: «художественной направленности -42, ...»), most first, «направленности» once
    assert (
        "В каталоге — 173 программы. Больше всего программ физкультурно-спортивной направленности (52) и "
        "художественной (42); затем технической — 32, социально-гуманитарной — 29 и естественнонаучной — 15; "
        "меньше всего — туристско-краеведческой (3). Для детей с ОВЗ адаптировано 5 программ."
    ) in text
    assert text.count("направленности") == 1
    assert "На 1 мероприятие, объявленное в чат-боте, оформлено 37 записей." in text
    # JSON round trip
    data = json.loads(render.to_json(typed))
    assert data["outreach"]["total"] == {"events": 94, "reached": 9976}
    assert data["municipality"] == {"id": "zima", "name": "Зима"}
    # XLSX: one sheet per table, totals, print setup
    book = load_workbook(io.BytesIO(render.to_xlsx(typed)))
    assert {"Охват", "По видам", "По месяцам", "Мероприятия", "Работа бота", "Каталог",
            "Вопросы без ответа", "Записи на мероприятия"} <= set(book.sheetnames)  # fmt: skip
    assert list(book["Записи на мероприятия"].iter_rows(values_only=True)) == [
        ("Мероприятие", "Дата", "Муниципалитет", "Записались", "Отменили запись"),
        ("День открытых дверей ДДТ", "28.08.2025", None, 37, None),
        ("Итого", None, None, 37, 0),
    ]
    assert "quiz" not in book.sheetnames
    sheet = book["Охват"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Категория участников", "Мероприятий", "Охват, человек")
    assert rows[1] == ("Родители", 45, 3102) and rows[-1] == ("Итого", 94, 9976)
    assert sheet.print_title_rows == "$1:$1" and sheet.page_setup.fitToWidth == 1
    assert sheet.column_dimensions["A"].width == 28 and sheet["A1"].font.b
    catalogue = list(book["Каталог"].iter_rows(values_only=True))
    assert ("физкультурно-спортивная", 52, 2) in catalogue and catalogue[-1] == ("Итого", 173, 5)
    listing = list(book["Мероприятия"].iter_rows(values_only=True))
    assert len(listing) == 1 + 94 + 1 and listing[-1][4] == 9976
    publication = next(r for r in listing if r[1] == "Публикация")
    assert publication[6] == "техническая, художественная" and publication[7] == "Онлайн"
    assert {row[8] for row in listing[1:-1]} == {"Зима"}  # the municipality by its name, not «zima»
    # CSV: blocks
    text = render.to_csv(typed)
    blocks = [b for b in text.split("\r\n\r\n") if b.strip()]
    assert blocks[1].startswith("# Мероприятия МОЦ и охват по категориям участников")
    table = list(csv.reader(io.StringIO(blocks[1]), delimiter=";"))
    assert table[1] == ["Категория участников", "Мероприятий", "Охват, человек"]
    assert table[-1] == ["Итого", "94", "9976"]
    assert "Можно ли <b>два</b> кружка & секцию?" in text
    # PNG: a real image
    png = to_png(typed, render.title_of(typed))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 1000 and height >= 600


async def test_chart_of_an_empty_period(app: App) -> None:
    report = await _typed(app, Period(date(2025, 1, 1), date(2025, 2, 15), "range"))
    assert [m.key for m in report.by_month] == ["2025-01", "2025-02"]
    assert to_png(report, "Пусто")[:4] == b"\x89PNG"


def test_seed_fixture_quotes_the_seed() -> None:
    from bot.settings import PROJECT_ROOT

    for item in SEEDS.values():
        path = (PROJECT_ROOT / item["seed"]).resolve()
        if not path.exists():
            if IN_CI:
                pytest.fail(f"{path} is missing: CI runs with shared/ beside the checkout")
            pytest.skip("the seeds (../shared/seeds) are not next to this checkout")
    seed = (PROJECT_ROOT / BATAYSK["seed"]).resolve().read_text(encoding="utf-8")
    assert BATAYSK["seed_sentence"] in seed


@pytest.mark.postgres
async def test_report_on_postgres(pg_url: str) -> None:
    """The same SQL on PostgreSQL: dates, extract(), conditional sums, JSON columns, medians."""
    from bot.settings import Settings
    from db import migrate
    from db.engine import create_engine

    await migrate.upgrade_async(pg_url)
    database = Database(create_engine(pg_url))
    try:
        await log_bataysk(database)
        item = ActivityInput(date(2025, 5, 5), "Публикация", "publication", "other", 50, "zima",
                             directions=("tech",))  # fmt: skip
        await _log(database, item, None)
        async with database.sessionmaker() as session:
            await _bot_events(session)
        settings = Settings(_env_file=None, database_url=pg_url, timezone="Asia/Irkutsk")  # type: ignore[call-arg]
        typed = await ReportService(database, settings).build(calendar_year(2025, TZ))
        report = typed.as_dict()
    finally:
        await database.dispose()
    assert report["outreach"]["total"] == {"events": 94, "reached": 5026}
    assert sum(m["parents"] for m in report["by_month"]) == 3102
    assert report["bot"]["handoffs"]["median_answer_seconds"] == 1800.0
    assert report["bot"]["consultations"]["answered_without_staff"] == 5
    publication = next(a for a in report["activities"] if a["title"] == "Публикация")
    assert publication["directions"] == ["tech"] and publication["date"] == "2025-05-05"
    assert render.paragraph(typed, "В 2025 году").startswith("В 2025 году проведены 45 мероприятий")


# --- the report a methodist pastes speaks Russian ---------------------------------------------------
async def test_the_files_name_everything_in_russian_and_in_local_time(tester: Any) -> None:
    from bot.services.announcements.subscriptions import Target
    from db.models import Broadcast as BroadcastRow
    from db.models import User
    from tests.support.client import ADMIN_ID

    app = tester.app
    await log_bataysk(app.database, municipality_id="zima")
    async with app.sessionmaker() as session:
        session.add(User(id=ADMIN_ID, role="parent", municipality_id="zima"))
        text = "<b>День открытых дверей</b> &amp; мастер-классы\nв субботу"
        row = BroadcastRow(kind="broadcast", status="done", text=text, target=Target().to_json(),
                           scheduled_at=utcnow(), total=0)  # fmt: skip
        session.add(row)
        await session.flush()
        await _bot_events(session)
        # sent at 23:30 UTC on 31 May is 07:30 on 1 June in Irkutsk
        sent_at = datetime(2025, 5, 31, 23, 30, tzinfo=UTC)
        session.add(event(str(Kind.BROADCAST_SENT), sent_at, ref=str(row.id), value=40))
        await session.commit()
    sent = await tester.send("/report 2025", user_id=ADMIN_ID)
    assert sent[0].text.startswith("<b>Отчёт об охвате — 2025 год (все муниципалитеты)</b>")
    assert "Через чат-бот МОЦ" in sent[0].text
    book = load_workbook(io.BytesIO(sent[1].file_bytes or b""))
    cells = {
        str(v) for ws in book.worksheets for r in ws.iter_rows(values_only=True) for v in r if v is not None
    }
    for code in ("zima", "faq.question", "certificate-what", "catalogue.search", "meeting", "parents"):
        assert code not in cells, code
    kinds = dict((r[0], r[1]) for r in book["Действия бота"].iter_rows(values_only=True))
    assert kinds["Вопросы боту"] == 7 and kinds["Записи на мероприятия (нажатия «Пойду»)"] == 2
    assert kinds["quiz.played"] == 1  # a kind nobody named yet shows its code
    topics = list(book["Темы вопросов"].iter_rows(values_only=True))
    assert topics[1] == ("Что такое сертификат дополнительного образования", 4)
    broadcasts = list(book["Рассылки"].iter_rows(values_only=True))
    assert broadcasts[0][1] == "Отправлена (местное время)"
    assert ("День открытых дверей & мастер-классы", "01.06.2025 07:30", 40) in broadcasts
    assert ("Рассылка №b1", "01.06.2025 20:00", 120) in broadcasts  # one whose text is gone
    listing = list(book["Мероприятия"].iter_rows(values_only=True))
    assert listing[1][8] == "Зима" and listing[1][2] == "Родительское собрание"
    assert book["Охват"].oddFooter.right.text == "Стр. &P из &N"


async def test_sign_ups_are_counted_alike_in_the_paragraph_and_the_tables(tester: Any) -> None:
    from datetime import timedelta

    from bot.cli.outreach import feature_report_sources
    from bot.services.announcements.events import EventDraft, EventService
    from bot.services.outreach.periods import date_range
    from bot.views.announcements import reminder_texts
    from tests.support.client import ADMIN_ID

    app = tester.app
    draft = EventDraft(
        title="День открытых дверей", starts_at=utcnow() + timedelta(days=2), timezone="Asia/Irkutsk",
        place="ул. Ленина, 1", organisation="ДДТ", directions=(), audience="parents", capacity=None,
        description="", municipality_id="sayansk",
    )  # fmt: skip
    events: EventService = app.services["events"]
    await events.create(draft, created_by=ADMIN_ID, reminder_texts=reminder_texts(draft))
    for user_id in (1001, 1002, 1003):
        await tester.start_and_consent(user_id=user_id)
        await tester.send("/events", user_id=user_id)
        await tester.click("День открытых дверей", user_id=user_id)
        await tester.click("Пойду", user_id=user_id)
        await tester.click("Пропустить", user_id=user_id)
    card = next(
        s for s in reversed(tester.sent) if s.chat_id == 1002 and any("Отменить" in b[0] for b in s.buttons)
    )
    await tester.click("Отменить запись", user_id=1002, message=card)
    await tester.send("/forget", user_id=1003)
    await tester.click("Да, удалить", user_id=1003)  # still counted, anonymously, in both places
    today = utcnow().astimezone(app.settings.tz).date()
    period = date_range(today - timedelta(days=10), today + timedelta(days=10), app.settings.tz)
    report = await ReportService(app.database, app.settings, feature_report_sources()).build(period)
    content = app.content.current
    text = render.paragraph(report, "За период", content)
    assert (
        "На 1 мероприятие, объявленное в чат-боте, оформлены 2 записи; ещё 1 запись родители отменили."
        in text
    )
    tables = {t.sheet: t for t in render.tables_of(report, content)}
    signups = tables["Записи на мероприятия"]
    assert signups.rows == [["День открытых дверей", signups.rows[0][1], "Саянск", 2, 1]]
    assert signups.totals == ["Итого", None, None, 2, 1]
    bot_rows = dict((r[0], r[1]) for r in tables["Работа бота"].rows)
    assert bot_rows["Записей на них (без отменённых)"] == 2 and bot_rows["Отменённых записей"] == 1
    assert "Дни открытых дверей" not in tables  # one sheet of sign-ups, not two that disagree


@pytest.mark.parametrize("shape", [1, 2, 3, 4, 6])
def test_the_catalogue_sentence_names_each_direction_once(shape: int) -> None:
    from bot.directions import Direction
    from bot.services.outreach.model import CatalogueRow, CatalogueSection, Sections

    counts = [52, 42, 32, 29, 15, 3][:shape]
    rows = tuple(CatalogueRow(d.code, n, None) for d, n in zip(Direction, counts, strict=False))
    base = _empty_report()
    report = replace(base, sections=Sections(catalogue=CatalogueSection(rows, 0)))
    text = render.paragraph(report, "В 2025 году").split("\n\n")[1]
    assert text.count("направленности") == 1
    for row in rows:
        assert f"{row.genitive}" in text and str(row.programs) in text
    assert text.startswith(f"В каталоге — {sum(counts)} программ")


def _empty_report() -> Report:
    from bot.services.outreach.model import (
        BotFigures,
        Broadcasts,
        Consultations,
        EventSignups,
        Figures,
        Handoffs,
        Outreach,
        ReportPeriod,
        Search,
        Subscriptions,
    )

    return Report(
        period=ReportPeriod(date(2025, 1, 1), date(2025, 12, 31), "year", "2025 год", "Asia/Irkutsk"),
        municipality=None,
        outreach=Outreach((), Figures(0, 0)),
        by_kind=(),
        by_month=(),
        bot=BotFigures(
            (),
            Consultations(0, 0, 0, 0, 0, 0, 0, None),
            (),
            Handoffs(0, 0, 0, None),
            Search(0, 0, 0, (), ()),
            Broadcasts(()),
            EventSignups(0, 0, 0, ()),
            Subscriptions(0, 0),
        ),
        generated_on=date(2026, 1, 1),
    )


async def test_people_and_questions_are_counted_per_channel_and_once_in_all(app: App) -> None:
    """Telegram and MAX people apart; a MAX row keeps its channel after /forget re-keys it;
    the total is counted over all rows (a person with many rows is one person), not summed."""
    max_a, max_b = MAX_ID_BASE + 1, MAX_ID_BASE + 2
    faq, search = str(Kind.FAQ_QUESTION), str(Kind.PROGRAM_SEARCH)
    async with app.sessionmaker() as session:
        session.add_all(
            [
                event(faq, user_id=7, outcome="answer"),
                event(faq, user_id=7, outcome="smalltalk"),
                event(search, user_id=8),
                event(faq, user_id=max_a, outcome="answer"),
                event(faq, user_id=max_a, outcome="suggest"),
                event(search, user_id=max_a),
                event(faq, user_id=max_b, outcome="fallback"),
                event(faq, user_id=max_b, outcome="smalltalk"),
            ]
        )
        await session.commit()
    await app.services["privacy"].forget(max_b)  # its rows become anonymous, still MAX's
    report = await _typed(app, calendar_year(2025, TZ))
    assert report.as_dict()["bot"]["channels"] == {
        "tg": {"people": 2, "questions": 1, "askers": 1},
        "max": {"people": 2, "questions": 3, "askers": 2},
        "all": {"people": 4, "questions": 4, "askers": 3},
    }
    text = render.paragraph(report, "В 2025 году")
    assert "Из них через MAX — 2 человека и 3 вопроса." in text
    book = load_workbook(io.BytesIO(render.to_xlsx(report)))
    assert list(book["Каналы"].iter_rows(values_only=True))[1:] == [
        ("Telegram", 2, 1, 1), ("MAX", 2, 3, 2), ("Итого", 4, 4, 3)
    ]  # fmt: skip
