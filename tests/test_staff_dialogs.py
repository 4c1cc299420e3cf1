"""Dispatcher-level scenarios of the methodists' first week: dates and times as people type
them, staff text taken as text, cancel words and «Отмена» everywhere, /staff add @username,
their own numbering."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.services.when import moment_text
from bot.workers.broadcasts import BroadcastWorker
from db.base import utcnow
from db.models import Broadcast, Event, OutreachActivity, User
from tests.support.announce_helpers import add_subscribers
from tests.support.client import ADMIN_ID, BotTester, texts

STAFF = 5555
IRKUTSK_NAME = "Asia/Irkutsk"
CANCEL_WORDS = ["отмена", "Стоп", "назад", "не надо", "Отменить!", "ОТМЕНА."]


def _local_tomorrow_at(tester: BotTester, hour: int) -> datetime:
    tz = tester.app.settings.tz
    tomorrow = (utcnow().astimezone(tz) + timedelta(days=1)).date()
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, hour, tzinfo=tz).astimezone(UTC)


def _no_zone_id(text: str) -> None:
    assert "Asia/Irkutsk" not in text and "UTC" not in text and "ДД.ММ" not in text, text


async def _event_until_when(tester: BotTester) -> None:
    await tester.send("/event_new", user_id=ADMIN_ID)
    await tester.send("День открытых дверей", user_id=ADMIN_ID)


async def _finish_event(tester: BotTester) -> list[Any]:
    """From the place step to the published event (single answers, Саянск)."""
    await tester.send("ул. Ленина, 1, актовый зал", user_id=ADMIN_ID)
    await tester.send("ДДТ «Радуга»", user_id=ADMIN_ID)
    await tester.click("Готово", user_id=ADMIN_ID)
    await tester.click("родители", user_id=ADMIN_ID)
    await tester.click("Саянск", user_id=ADMIN_ID)
    await tester.click("Без ограничения", user_id=ADMIN_ID)
    await tester.send("Покажем кружки", user_id=ADMIN_ID)
    await tester.click("Без фото", user_id=ADMIN_ID)
    return await tester.click("Опубликовать", user_id=ADMIN_ID)


# --- dates and times ------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["завтра в 10", "завтра в 10:00", "завтра, 10.00"])
async def test_event_time_as_people_type_it(tester: BotTester, typed: str) -> None:
    await tester.send("/event_new", user_id=ADMIN_ID)
    sent = await tester.send("День открытых дверей", user_id=ADMIN_ID)
    assert "по иркутскому времени" in sent[0].text and "завтра в 10" in sent[0].text
    _no_zone_id(sent[0].text)
    sent = await tester.send(typed, user_id=ADMIN_ID)
    expected = _local_tomorrow_at(tester, 10)
    assert f"Начало: {moment_text(expected, IRKUTSK_NAME)}" in sent[0].text
    assert "по иркутскому времени" in sent[0].text
    published = await _finish_event(tester)
    assert "опубликовано" in texts(published)
    async with tester.db() as session:
        event = (await session.scalars(select(Event))).one()
        assert event.starts_at == expected


async def test_event_time_that_cannot_be_used_is_explained(tester: BotTester) -> None:
    await _event_until_when(tester)
    answers = {
        "когда-нибудь": "Не понял дату и время",
        "5 декабря": "а во сколько",
        "31.02 10:00": "нет в календаре",
        "вчера в 10": "уже прошло",
        "01.01.2020 10:00": "уже прошло",
    }
    for typed, expected in answers.items():
        sent = await tester.send(typed, user_id=ADMIN_ID)
        assert expected in sent[0].text, (typed, sent[0].text)
        assert any("Отмена" in b[0] for b in sent[0].buttons)
    async with tester.db() as session:
        assert not (await session.scalars(select(Event))).all()


async def test_scheduled_broadcast_in_words_and_shown_in_local_time(tester: BotTester) -> None:
    async with tester.db() as session:
        await add_subscribers(session, [2001])
    await tester.send("/broadcast", user_id=ADMIN_ID)
    await tester.send("Собрание", user_id=ADMIN_ID)
    await tester.click("Без фото", user_id=ADMIN_ID)
    await tester.click("Всем подписчикам", user_id=ADMIN_ID)
    sent = await tester.click("Запланировать", user_id=ADMIN_ID)
    assert "по иркутскому времени" in texts(sent)
    _no_zone_id(texts(sent))
    sent = await tester.send("завтра в 9:30", user_id=ADMIN_ID)
    expected = _local_tomorrow_at(tester, 9) + timedelta(minutes=30)
    assert f"запланирована: {moment_text(expected, IRKUTSK_NAME)}" in sent[0].text
    _no_zone_id(sent[0].text)
    sent = await tester.send("/broadcasts", user_id=ADMIN_ID)
    assert "по иркутскому времени" in sent[0].text
    _no_zone_id(sent[0].text)
    assert any("Главное меню" in b[0] for b in sent[0].buttons)
    async with tester.db() as session:
        broadcast = (await session.scalars(select(Broadcast))).one()
        assert broadcast.scheduled_at == expected and broadcast.number == 1


async def test_log_date_in_words(tester: BotTester) -> None:
    await tester.send(f"/staff add {STAFF}", user_id=ADMIN_ID)
    await tester.send("/log", user_id=STAFF)
    sent = await tester.send("позавчера", user_id=STAFF)
    day = (utcnow().astimezone(tester.app.settings.tz) - timedelta(days=2)).date()
    assert f"Дата: {day:%d.%m.%Y}" in sent[0].text
    for line in ("/log 12 марта родители 40 Собрание", "/log 12.03 родители 40 Собрание"):
        sent = await tester.send(line, user_id=STAFF)
        assert "Записано" in sent[0].text and "12.03." in sent[0].text
    sent = await tester.send("/log вчера родители 40 Собрание в школе №3", user_id=STAFF)
    assert "Записано" in sent[0].text and "Собрание в школе №3" in sent[0].text
    async with tester.db() as session:
        entries = (await session.scalars(select(OutreachActivity).order_by(OutreachActivity.id))).all()
        assert [(e.held_on.day, e.held_on.month) for e in entries[:2]] == [(12, 3), (12, 3)]
        assert all(e.held_on <= utcnow().date() for e in entries)


# --- staff text is text -----------------------------------------------------------------------------
async def test_broadcast_text_with_less_than_and_ampersand_goes_out_as_typed(tester: BotTester) -> None:
    async with tester.db() as session:
        await add_subscribers(session, [2001])
    typed = "Осталось мест < 10 — встреча с <b>родителями</b> & педагогами"
    await tester.send("/broadcast", user_id=ADMIN_ID)
    sent = await tester.send(typed, user_id=ADMIN_ID)
    assert "Добавить фото" in sent[0].text and "&lt;" not in sent[0].text  # accepted, not refused
    await tester.click("Без фото", user_id=ADMIN_ID)
    sent = await tester.click("Всем подписчикам", user_id=ADMIN_ID)
    preview = next(s for s in sent if "Осталось мест" in s.text)
    assert preview.text == "Осталось мест &lt; 10 — встреча с &lt;b&gt;родителями&lt;/b&gt; &amp; педагогами"
    await tester.click("Отправить сейчас", user_id=ADMIN_ID)
    async with tester.db() as session:
        broadcast = (await session.scalars(select(Broadcast))).one()
        assert broadcast.text == preview.text


async def test_broadcast_keeps_telegram_formatting(tester: BotTester) -> None:
    async with tester.db() as session:
        await add_subscribers(session, [2001])
    await tester.send("/broadcast", user_id=ADMIN_ID)
    text = "Важно: собрание & чай"
    entities = [{"type": "bold", "offset": 0, "length": 5}]
    await tester.feed(tester.factory.message(text, user_id=ADMIN_ID, entities=entities))
    await tester.click("Без фото", user_id=ADMIN_ID)
    sent = await tester.click("Всем подписчикам", user_id=ADMIN_ID)
    assert any(s.text == "<b>Важно</b>: собрание &amp; чай" for s in sent)


# --- cancel words and «Отмена» -----------------------------------------------------------------------
@pytest.mark.parametrize("word", CANCEL_WORDS)
async def test_cancel_words_leave_event_dialog_and_are_never_a_title(tester: BotTester, word: str) -> None:
    await tester.send("/event_new", user_id=ADMIN_ID)
    sent = await tester.send(word, user_id=ADMIN_ID)
    assert "не создано" in sent[0].text
    sent = await tester.send("Следующее сообщение", user_id=ADMIN_ID)
    assert "Шаг 2" not in texts(sent)
    await _event_until_when(tester)
    sent = await tester.send(word, user_id=ADMIN_ID)  # in the middle of the dialog too
    assert "не создано" in sent[0].text
    async with tester.db() as session:
        assert not (await session.scalars(select(Event))).all()


@pytest.mark.parametrize("word", ["отмена", "стоп", "назад", "не надо"])
async def test_cancel_words_leave_broadcast_log_and_staff_add(tester: BotTester, word: str) -> None:
    async with tester.db() as session:
        await add_subscribers(session, [2001])
    await tester.send("/broadcast", user_id=ADMIN_ID)
    sent = await tester.send(word, user_id=ADMIN_ID)
    assert "ничего не отправлено" in sent[0].text
    await tester.send("/broadcast", user_id=ADMIN_ID)
    await tester.send("Собрание", user_id=ADMIN_ID)
    await tester.click("Без фото", user_id=ADMIN_ID)
    await tester.click("Всем подписчикам", user_id=ADMIN_ID)
    sent = await tester.send(word, user_id=ADMIN_ID)
    assert "ничего не отправлено" in sent[0].text
    await tester.send("/log", user_id=ADMIN_ID)
    await tester.click("Вчера", user_id=ADMIN_ID)
    await tester.click("Родители", user_id=ADMIN_ID)
    await tester.click("Консультация", user_id=ADMIN_ID)
    await tester.send("12", user_id=ADMIN_ID)
    sent = await tester.send(word, user_id=ADMIN_ID)  # the title step: not a title
    assert "ничего не записано" in sent[0].text
    await tester.send("/staff add", user_id=ADMIN_ID)
    sent = await tester.send(word, user_id=ADMIN_ID)
    assert "никого не назначаю" in sent[0].text
    async with tester.db() as session:
        assert not (await session.scalars(select(Broadcast))).all()
        assert not (await session.scalars(select(OutreachActivity))).all()


async def test_every_prompt_of_the_event_dialog_has_a_cancel_button(tester: BotTester) -> None:
    steps: list[tuple[str, str]] = [
        ("send", "/event_new"), ("send", "День открытых дверей"), ("send", "завтра в 10"),
        ("send", "ул. Ленина, 1"), ("send", "ДДТ «Радуга»"), ("click", "Готово"), ("click", "родители"),
        ("click", "Саянск"), ("click", "Без ограничения"), ("send", "Покажем кружки"), ("click", "Без фото"),
    ]  # fmt: skip
    for how, value in steps:
        sent = await (
            tester.send(value, user_id=ADMIN_ID) if how == "send" else tester.click(value, user_id=ADMIN_ID)
        )
        prompt = [s for s in sent if s.method == "SendMessage"][-1]
        assert any("Отмена" in b[0] for b in prompt.buttons), (value, prompt.text)
    sent = await tester.click("Отмена", user_id=ADMIN_ID)
    assert "не создано" in texts(sent)
    async with tester.db() as session:
        assert not (await session.scalars(select(Event))).all()


async def test_every_prompt_of_the_broadcast_dialog_has_a_cancel_button(tester: BotTester) -> None:
    async with tester.db() as session:
        await add_subscribers(session, [2001], ages=[7])
    steps: list[tuple[str, str]] = [
        ("send", "/broadcast"), ("send", "Собрание"), ("click", "Без фото"), ("click", "По возрасту"),
        ("send", "7"), ("click", "Запланировать"),
    ]  # fmt: skip
    for how, value in steps:
        sent = await (
            tester.send(value, user_id=ADMIN_ID) if how == "send" else tester.click(value, user_id=ADMIN_ID)
        )
        prompt = [s for s in sent if s.method == "SendMessage"][-1]
        assert any("Отмена" in b[0] for b in prompt.buttons), (value, prompt.text)
    sent = await tester.click("Отмена", user_id=ADMIN_ID)
    assert "ничего не отправлено" in texts(sent)


async def test_broadcast_segment_choice_has_a_way_back(tester: BotTester) -> None:
    async with tester.db() as session:
        await add_subscribers(session, [2001])
    await tester.send("/broadcast", user_id=ADMIN_ID)
    await tester.send("Собрание", user_id=ADMIN_ID)
    await tester.click("Без фото", user_id=ADMIN_ID)
    await tester.click("По направленности", user_id=ADMIN_ID)
    sent = await tester.click("Назад", user_id=ADMIN_ID)
    assert "Кому отправить" in texts(sent)
    sent = await tester.click("Всем подписчикам", user_id=ADMIN_ID)
    assert "Получателей сейчас: 1" in texts(sent)


# --- /staff add @username ----------------------------------------------------------------------------
def _forwarded(tester: BotTester, origin: dict[str, Any]) -> Any:
    return tester.factory.message("Здравствуйте, я методист", user_id=ADMIN_ID, forward_origin=origin)


async def _role(tester: BotTester, user_id: int) -> str | None:
    async with tester.db() as session:
        user = await session.get(User, user_id)
        return user.role if user is not None else None


async def test_staff_add_by_username_explains_and_takes_a_forward(tester: BotTester) -> None:
    sent = await tester.send("/staff add @metodist_zima", user_id=ADMIN_ID)
    assert "@metodist_zima" in sent[0].text and "не может" in sent[0].text
    assert "Перешлите" in sent[0].text and "/mydata" in sent[0].text
    assert any("Отмена" in b[0] for b in sent[0].buttons)
    now = int(datetime.now(UTC).timestamp())
    person = {"id": 7777, "is_bot": False, "first_name": "Ольга", "last_name": "Петрова"}
    sent = await tester.feed(_forwarded(tester, {"type": "user", "date": now, "sender_user": person}))
    assert "Ольга Петрова" in sent[0].text and "7777" in sent[0].text and "назначен" in sent[0].text
    assert await _role(tester, 7777) == "staff"
    # the dialog is over: a later forward is not taken as a staff request
    sent = await tester.feed(
        _forwarded(tester, {"type": "user", "date": now, "sender_user": {**person, "id": 8888}})
    )
    assert await _role(tester, 8888) is None


async def test_staff_add_forward_from_a_hidden_account_is_explained(tester: BotTester) -> None:
    await tester.send("/staff add", user_id=ADMIN_ID)
    now = int(datetime.now(UTC).timestamp())
    hidden = {"type": "hidden_user", "date": now, "sender_user_name": "Ольга <П>"}
    sent = await tester.feed(_forwarded(tester, hidden))
    assert "Ольга &lt;П&gt;" in sent[0].text and "/mydata" in sent[0].text
    sent = await tester.send("7777", user_id=ADMIN_ID)  # the number the person read in /mydata
    assert "назначен" in sent[0].text
    assert await _role(tester, 7777) == "staff"


async def test_staff_add_by_forward_is_for_admins_only(tester: BotTester) -> None:
    await tester.send(f"/staff add {STAFF}", user_id=ADMIN_ID)
    sent = await tester.send("/staff add @someone", user_id=STAFF)
    assert "только администраторы" in sent[0].text
    now = int(datetime.now(UTC).timestamp())
    origin = {"type": "user", "date": now, "sender_user": {"id": 7777, "is_bot": False, "first_name": "О"}}
    await tester.feed(tester.factory.message("x", user_id=STAFF, forward_origin=origin))
    assert await _role(tester, 7777) is None


# --- numbering -----------------------------------------------------------------------------------------
async def test_broadcasts_are_numbered_among_broadcasts(tester: BotTester) -> None:
    async with tester.db() as session:
        await add_subscribers(session, [2001])
    await tester.send("/event_new", user_id=ADMIN_ID)
    await tester.send("День открытых дверей", user_id=ADMIN_ID)
    await tester.send("5 дней спустя", user_id=ADMIN_ID)  # unreadable: asked again
    in_five_days = (utcnow().astimezone(tester.app.settings.tz) + timedelta(days=5)).strftime("%d.%m %H:%M")
    await tester.send(in_five_days, user_id=ADMIN_ID)
    await _finish_event(tester)  # two reminders recorded in the same table
    await tester.send("/broadcast", user_id=ADMIN_ID)
    await tester.send("Анонс", user_id=ADMIN_ID)
    await tester.click("Без фото", user_id=ADMIN_ID)
    await tester.click("Всем подписчикам", user_id=ADMIN_ID)
    sent = await tester.click("Отправить сейчас", user_id=ADMIN_ID)
    assert "Рассылка №1 " in sent[-1].text
    assert any("№1" in b[0] for b in sent[-1].buttons)
    async with tester.db() as session:
        broadcast = (await session.scalars(select(Broadcast).where(Broadcast.kind == "broadcast"))).one()
        assert broadcast.id == 3 and broadcast.number == 1
    worker = BroadcastWorker(
        tester.bot, tester.app.services["delivery"], tester.app.settings, tick=0.02, progress_interval=0
    )
    await worker.start()
    try:
        async with asyncio.timeout(5):
            while True:
                summary = tester.session.message(ADMIN_ID, sent[-1].message_id)
                if summary is not None and "завершена" in summary.text:
                    break
                await asyncio.sleep(0.02)
    finally:
        await worker.stop()
    assert "Рассылка №1 завершена" in summary.text


async def test_a_deleted_log_entry_number_is_not_given_again(tester: BotTester) -> None:
    await tester.send(f"/staff add {STAFF}", user_id=ADMIN_ID)
    for title in ("Первое", "Второе"):
        await tester.send(f"/log вчера родители 10 {title}", user_id=STAFF)
    sent = await tester.send("/log list", user_id=STAFF)
    assert any("Главное меню" in b[0] for b in sent[0].buttons)
    await tester.click("🗑 №2", user_id=STAFF)
    sent = await tester.click("Да, удалить", user_id=STAFF)
    assert "№ 2 удалена" in texts(sent)
    sent = await tester.send("/log вчера родители 10 Третье", user_id=STAFF)
    assert "№ 3" in sent[0].text


# --- /log and the municipality ---------------------------------------------------------------------------
async def test_log_entry_shows_and_edits_its_municipality(tester: BotTester) -> None:
    await tester.send(f"/staff add {STAFF}", user_id=ADMIN_ID)
    await tester.send("/log", user_id=STAFF)
    await tester.click("Вчера", user_id=STAFF)
    await tester.click("Родители", user_id=STAFF)
    await tester.click("Консультация", user_id=STAFF)
    await tester.send("12", user_id=STAFF)
    sent = await tester.send("Консультация по сертификатам", user_id=STAFF)
    assert "📍 Саянск" in sent[0].text  # two municipalities in the shipped content: the card names it
    await tester.click("Муниципалитет", user_id=STAFF)
    sent = await tester.click("Зима", user_id=STAFF)
    assert "📍 Зима" in texts(sent)
    sent = await tester.click("Записать", user_id=STAFF)
    assert "📍 Зима" in texts(sent)
    async with tester.db() as session:
        entry = (await session.scalars(select(OutreachActivity))).one()
        assert entry.municipality_id == "zima"
    sent = await tester.send("/log list", user_id=STAFF)
    assert "Зима" in sent[0].text
    await tester.click("✏️ №1", user_id=STAFF)
    await tester.click("Муниципалитет", user_id=STAFF)
    sent = await tester.click("Саянск", user_id=STAFF)
    assert "Изменено" in texts(sent) and "📍 Саянск" in texts(sent)
    async with tester.db() as session:
        entry = (await session.scalars(select(OutreachActivity))).one()
        assert entry.municipality_id == "sayansk"


async def test_forged_municipality_button_changes_nothing(tester: BotTester) -> None:
    from bot.views.outreach import LogItemCD

    await tester.send(f"/staff add {STAFF}", user_id=ADMIN_ID)
    sent = await tester.send("/log вчера родители 10 Собрание", user_id=STAFF)
    data = LogItemCD(action="set", id=1, field="municipality_id", value="atlantis").pack()
    await tester.press(sent[0], data, user_id=STAFF)
    assert "нельзя" in tester.alerts()[-1]
    async with tester.db() as session:
        entry = (await session.scalars(select(OutreachActivity))).one()
        assert entry.municipality_id == "sayansk"
