"""Dispatcher-level scenarios: /log (dialog, one line, list, edit, delete), /report, privacy."""

from __future__ import annotations

import io
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.middlewares.guards import STAFF_ONLY_TEXT
from bot.services.outreach.periods import today
from bot.views.outreach import LogItemCD
from db.models import OutreachActivity, OutreachAudit, User
from tests.support.client import ADMIN_ID, PARENT_ID, BotTester, texts
from tests.support.outreach_helpers import log_bataysk

STAFF = 5555
OTHER_STAFF = 5556


async def _staff(tester: BotTester, *ids: int) -> None:
    for staff_id in ids:
        await tester.send(f"/staff add {staff_id}", user_id=ADMIN_ID)


async def _count(tester: BotTester, model: type[OutreachActivity] | type[OutreachAudit]) -> int:
    async with tester.db() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_parent_is_refused_and_nothing_is_written(tester: BotTester) -> None:
    await tester.start_and_consent()
    for command in ("/log", "/log 2025-03-14 родители 70 Собрание", "/log list", "/report", "/report 2025"):
        sent = await tester.send(command)
        assert texts(sent) == STAFF_ONLY_TEXT
    await tester.press(tester.last(), LogItemCD(action="delyes", id=1).pack())
    assert tester.alerts()[-1] == STAFF_ONLY_TEXT
    assert await _count(tester, OutreachActivity) == 0


async def test_one_line_form_and_its_errors(tester: BotTester) -> None:
    await _staff(tester, STAFF)
    line = "/log 2025-03-14 родители 70 Родительское собрание: соцсертификаты"
    sent = await tester.send(line, user_id=STAFF)
    assert "Записано" in sent[0].text and "Родительское собрание" in sent[0].text
    assert [b[0] for b in sent[0].buttons] == ["✏️ Изменить", "🗑 Удалить", "📋 Мои записи", "🏠 Главное меню"]
    async with tester.db() as session:
        activity = (await session.scalars(select(OutreachActivity))).one()
        assert (activity.held_on, activity.audience, activity.reached, activity.kind) == (
            date(2025, 3, 14), "parents", 70, "meeting")  # fmt: skip
        assert activity.logged_by == STAFF and activity.municipality_id == "sayansk"
        audit = (await session.scalars(select(OutreachAudit))).one()
        assert audit.action == "create" and audit.actor_id == STAFF and audit.new is not None
        assert audit.new["reached"] == 70
    future = (date.today() + timedelta(days=3)).isoformat()
    bad = {
        "/log 2025-02-30 родители 70 Собрание": "нет в календаре",
        f"/log {future} родители 70 Собрание": "ещё не наступила",
        "/log 2025-03-14 марсиане 70 Собрание": "аудиторию",
        "/log 2025-03-14 родители -5 Собрание": "отрицательным",
        "/log 2025-03-14 родители 0 Собрание": "0 человек",
        "/log 2025-03-14 родители 70": "Короткая форма",
        "/log 2025-03-14 родители 70 " + "я" * 400: "слишком длинное",
        "/log 2025-03-14 родители 70 <b>Собрание & co": None,
    }
    for command, expected in bad.items():
        sent = await tester.send(command, user_id=STAFF)
        if expected is not None:
            assert expected in sent[0].text, (command, sent[0].text)
    # the last one is valid: HTML in the title is escaped, not refused by Telegram
    assert "&lt;b&gt;Собрание &amp; co" in tester.last(STAFF).text
    assert await _count(tester, OutreachActivity) == 2


async def test_dialog_with_buttons(tester: BotTester) -> None:
    await _staff(tester, STAFF)
    sent = await tester.send("/log", user_id=STAFF)
    assert "Когда прошло мероприятие" in sent[0].text
    sent = await tester.send("31.02.2025", user_id=STAFF)
    assert "нет в календаре" in sent[0].text
    await tester.click("Вчера", user_id=STAFF)
    sent = await tester.send("марсиане", user_id=STAFF)
    assert "аудиторию" in sent[0].text
    await tester.click("Педагоги", user_id=STAFF)
    await tester.click("Семинар", user_id=STAFF)
    sent = await tester.send("много", user_id=STAFF)
    assert "целое число" in sent[0].text
    await tester.send("48", user_id=STAFF)
    sent = await tester.send("Семинар-практикум «Работа с заявлениями»", user_id=STAFF)
    assert "Проверьте запись" in sent[0].text and "48 чел." in sent[0].text
    await tester.click("Направленность", user_id=STAFF)
    sent = await tester.click("техническая", user_id=STAFF)
    assert sent[-1].method == "EditMessageReplyMarkup"
    assert "☑️ техническая" in [b[0] for b in sent[-1].buttons]
    await tester.click("художественная", user_id=STAFF)
    await tester.click("Готово", user_id=STAFF)
    await tester.click("Формат", user_id=STAFF)
    await tester.click("Онлайн", user_id=STAFF)
    await tester.click("Организация", user_id=STAFF)
    sent = await tester.send("МБУ ДО ДДТ", user_id=STAFF)
    assert "МБУ ДО ДДТ" in sent[0].text and "техническая, художественная" in sent[0].text
    sent = await tester.send("просто текст", user_id=STAFF)
    assert "Выберите кнопку" in sent[0].text
    sent = await tester.click("Записать", user_id=STAFF)
    assert "Записано в журнал" in texts(sent)
    async with tester.db() as session:
        activity = (await session.scalars(select(OutreachActivity))).one()
        assert activity.audience == "educators" and activity.kind == "seminar" and activity.reached == 48
        assert activity.directions == ["tech", "art"] and activity.format == "online"
        assert activity.organisation == "МБУ ДО ДДТ"
        assert activity.held_on == today(ZoneInfo("Asia/Irkutsk")) - timedelta(days=1)
    # old dialog buttons are harmless afterwards
    await tester.click("Записать", user_id=STAFF)
    assert "уже пройден" in tester.alerts()[-1]
    assert await _count(tester, OutreachActivity) == 1


async def test_cancel_writes_nothing(tester: BotTester) -> None:
    await _staff(tester, STAFF)
    await tester.send("/log", user_id=STAFF)
    await tester.click("Сегодня", user_id=STAFF)
    await tester.click("Родители", user_id=STAFF)
    sent = await tester.send("/cancel", user_id=STAFF)
    assert "ничего не записано" in sent[0].text
    sent = await tester.send("70", user_id=STAFF)
    assert "Записано" not in texts(sent)
    assert await _count(tester, OutreachActivity) == 0


async def test_huge_headcount_asks_for_confirmation(tester: BotTester) -> None:
    await _staff(tester, STAFF)
    sent = await tester.send("/log 2025-05-09 прочие 150000 Городской фестиваль", user_id=STAFF)
    assert "150000 человек" in sent[0].text and "число верное" in sent[0].text
    assert await _count(tester, OutreachActivity) == 0
    await tester.click("Исправить", user_id=STAFF)
    assert await _count(tester, OutreachActivity) == 0
    await tester.send("/log 2025-05-09 прочие 150000 Городской фестиваль", user_id=STAFF)
    sent = await tester.click("Да, число верное", user_id=STAFF)
    assert "Записано" in texts(sent)
    # in the dialog too
    await tester.send("/log", user_id=STAFF)
    await tester.click("Сегодня", user_id=STAFF)
    await tester.click("Прочие", user_id=STAFF)
    await tester.click("Конкурс", user_id=STAFF)
    sent = await tester.send("200 000", user_id=STAFF)
    assert "число верное" in sent[0].text
    await tester.click("Исправить", user_id=STAFF)
    sent = await tester.send("20000000", user_id=STAFF)
    assert "так не бывает" in sent[0].text
    await tester.send("2000", user_id=STAFF)
    await tester.send("Конкурс рисунков", user_id=STAFF)
    await tester.click("Записать", user_id=STAFF)
    async with tester.db() as session:
        reached = sorted((await session.scalars(select(OutreachActivity.reached))).all())
    assert reached == [2000, 150000]


async def test_list_edit_delete_with_audit_and_ownership(tester: BotTester) -> None:
    await _staff(tester, STAFF, OTHER_STAFF)
    await tester.send("/log 2025-03-14 родители 70 Родительское собрание", user_id=STAFF)
    await tester.send("/log 2025-03-15 педагоги 12 Методическое совещание", user_id=OTHER_STAFF)
    sent = await tester.send("/log list", user_id=STAFF)
    assert "Родительское собрание" in sent[0].text and "Методическое" not in sent[0].text
    admin_list = await tester.send("/log list", user_id=ADMIN_ID)
    assert "Родительское собрание" in admin_list[0].text and "Методическое" in admin_list[0].text
    async with tester.db() as session:
        by = OutreachActivity.logged_by
        mine = (await session.scalars(select(OutreachActivity).where(by == STAFF))).one()
        theirs = (await session.scalars(select(OutreachActivity).where(by == OTHER_STAFF))).one()
    # someone else's entry: refused, even with a forged button
    await tester.press(sent[0], LogItemCD(action="del", id=theirs.id).pack(), user_id=STAFF)
    assert "только свои" in tester.alerts()[-1]
    await tester.press(sent[0], LogItemCD(action="delyes", id=theirs.id).pack(), user_id=STAFF)
    await tester.press(sent[0], LogItemCD(action="delyes", id=99999).pack(), user_id=STAFF)
    assert "нет" in tester.alerts()[-1]
    # edit own: the headcount by text, the audience by button
    await tester.click(f"✏️ №{mine.id}", user_id=STAFF)
    await tester.click("Охват", user_id=STAFF)
    sent = await tester.send("-4", user_id=STAFF)
    assert "отрицательным" in sent[0].text
    sent = await tester.send("85", user_id=STAFF)
    assert "Изменено" in sent[0].text and "85 чел." in sent[0].text
    await tester.click("Категория", user_id=STAFF)
    await tester.click("Обучающиеся", user_id=STAFF)
    await tester.click("Охват", user_id=STAFF)
    sent = await tester.send("123456", user_id=STAFF)
    assert "число верное" in sent[0].text
    await tester.click("Да, число верное", user_id=STAFF)
    await tester.click("Готово", user_id=STAFF)
    # the admin may delete anybody's entry; «Оставить» first takes the confirmation away
    await tester.press(admin_list[0], LogItemCD(action="del", id=theirs.id).pack(), user_id=ADMIN_ID)
    confirm = tester.last(ADMIN_ID)
    sent = await tester.click("Оставить", user_id=ADMIN_ID, message=confirm)
    assert sent[-1].method == "EditMessageReplyMarkup" and not sent[-1].buttons
    await tester.press(admin_list[0], LogItemCD(action="del", id=theirs.id).pack(), user_id=ADMIN_ID)
    await tester.click("Да, удалить", user_id=ADMIN_ID)
    async with tester.db() as session:
        edited = await session.get(OutreachActivity, mine.id)
        assert edited is not None and edited.reached == 123456 and edited.audience == "students"
        assert await session.get(OutreachActivity, theirs.id) is None
        trail = (await session.scalars(select(OutreachAudit).order_by(OutreachAudit.id))).all()
    actions = [(a.activity_id, a.action, a.actor_id) for a in trail]
    assert actions == [
        (mine.id, "create", STAFF),
        (theirs.id, "create", OTHER_STAFF),
        (mine.id, "update", STAFF),
        (mine.id, "update", STAFF),
        (mine.id, "update", STAFF),
        (theirs.id, "delete", ADMIN_ID),
    ]
    assert (trail[2].old, trail[2].new) == ({"reached": 70}, {"reached": 85})
    assert (trail[3].old, trail[3].new) == ({"audience": "parents"}, {"audience": "students"})
    assert trail[5].old is not None and trail[5].new is None
    assert trail[5].old["title"] == "Методическое совещание"


async def test_report_in_the_bot(tester: BotTester) -> None:
    await _staff(tester, STAFF)
    await log_bataysk(tester.app.database)
    sent = await tester.send("/report 2025", user_id=STAFF)
    assert [s.method for s in sent] == ["SendMessage", "SendDocument", "SendPhoto"]
    assert "45 мероприятий для родителей с охватом 3102 человека" in sent[0].text
    assert sent[1].file_name == "otchet-moc-2025.xlsx" and sent[1].file_bytes is not None
    book = load_workbook(io.BytesIO(sent[1].file_bytes))
    assert list(book["Охват"].iter_rows(values_only=True))[-1] == ("Итого", 93, 4976)
    assert sent[2].file_name == "otchet-moc-2025.png" and (sent[2].file_bytes or b"")[:4] == b"\x89PNG"
    next_year = date.today().year + 1
    for command, expected in (
        (f"/report {next_year}", "ещё не наступил"),
        ("/report 2024/2026", "соседними"),
        ("/report вчера-завтра", "Не понял период"),
        ("/report 01.01.2025 30.02.2025", "нет в календаре"),
        ("/report 2025 Атлантида", "не найден"),
    ):
        sent = await tester.send(command, user_id=STAFF)
        assert len(sent) == 1 and expected in sent[0].text, command
    sent = await tester.send("/report 2024/2025 Зима", user_id=STAFF)
    assert "Зима" in sent[0].text and "не вносились" in sent[0].text
    sent = await tester.send("/report", user_id=STAFF)
    assert "За какой период" in sent[0].text
    sent = await tester.click("2025 год", user_id=STAFF)
    assert [s.method for s in sent] == ["SendMessage", "SendDocument", "SendPhoto"]


async def test_mydata_and_forget_for_staff(tester: BotTester) -> None:
    await _staff(tester, STAFF)
    await tester.send("/log 2025-03-14 родители 70 Собрание", user_id=STAFF)
    await tester.send("/log 2025-03-15 родители 30 Собрание", user_id=STAFF)
    mydata = texts(await tester.send("/mydata", user_id=STAFF))
    assert "записанных вами в журнал для отчёта: 2" in mydata
    await tester.send("/forget", user_id=STAFF)
    await tester.click("Да, удалить", user_id=STAFF)
    async with tester.db() as session:
        assert await session.get(User, STAFF) is None
        rows = (await session.scalars(select(OutreachActivity))).all()
        assert len(rows) == 2 and all(r.logged_by is not None and r.logged_by < 0 for r in rows)
        assert len({r.logged_by for r in rows}) == 1
        actors = (await session.scalars(select(OutreachAudit.actor_id))).all()
        assert STAFF not in actors
    parent = texts(await tester.send("/mydata", user_id=PARENT_ID))
    assert "журнал для отчёта" not in parent
