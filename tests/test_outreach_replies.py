"""Commit, then speak: every /log change is stored before the bot says so.

The local Bot API fails the reply that follows a change (502, 429, or a final 403).
The database holds the change either way; a 5xx or 429 reply still arrives, because
the sender retries it; a reply that finally fails does not take the change back.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.views.outreach import LogItemCD
from db.models import OutreachActivity, OutreachAudit
from tests.support.client import ADMIN_ID, BotTester, texts

STAFF = 5555


async def _staff(tester: BotTester) -> None:
    await tester.send(f"/staff add {STAFF}", user_id=ADMIN_ID)


async def _entries(tester: BotTester) -> list[OutreachActivity]:
    async with tester.db() as session:
        return list(await session.scalars(select(OutreachActivity).order_by(OutreachActivity.id)))


async def _trail(tester: BotTester) -> list[tuple[int, str, int | None]]:
    async with tester.db() as session:
        rows = await session.scalars(select(OutreachAudit).order_by(OutreachAudit.id))
        return [(a.activity_id, a.action, a.actor_id) for a in rows]


def _fail_next(tester: BotTester, method: str, status: int = 502) -> None:
    if status == 429:
        tester.session.fail_next(429, "Too Many Requests: retry after 1", method=method, retry_after=1)
    else:
        tester.session.fail_next(status, "Bad Gateway", method=method)


async def _logged(tester: BotTester, line: str = "/log 2025-03-14 родители 70 Родительское собрание") -> int:
    await tester.send(line, user_id=STAFF)
    entries = await _entries(tester)
    return entries[-1].id


async def test_one_line_entry_is_stored_and_the_retried_reply_arrives(tester: BotTester) -> None:
    await _staff(tester)
    retries = tester.app.sender.retries
    _fail_next(tester, "SendMessage")
    sent = await tester.send("/log 2025-03-14 родители 70 Родительское собрание", user_id=STAFF)
    assert tester.app.sender.retries == retries + 1  # the 502 really happened
    assert "✅ Записано в журнал" in texts(sent)
    [entry] = await _entries(tester)
    assert (entry.held_on, entry.audience, entry.reached, entry.logged_by) == (
        date(2025, 3, 14), "parents", 70, STAFF)  # fmt: skip
    assert await _trail(tester) == [(entry.id, "create", STAFF)]
    assert f"№ {entry.id}" in texts(sent)


async def test_dialog_save_survives_a_429_on_the_toast_and_a_502_on_the_card(tester: BotTester) -> None:
    await _staff(tester)
    await tester.send("/log", user_id=STAFF)
    await tester.click("Вчера", user_id=STAFF)
    await tester.click("Педагоги", user_id=STAFF)
    await tester.click("Семинар", user_id=STAFF)
    await tester.send("48", user_id=STAFF)
    await tester.send("Семинар-практикум", user_id=STAFF)
    retries = tester.app.sender.retries
    _fail_next(tester, "AnswerCallbackQuery", 429)
    _fail_next(tester, "SendMessage")
    sent = await tester.click("Записать", user_id=STAFF)
    assert tester.app.sender.retries == retries + 2
    assert "Записано" in tester.alerts()
    assert "✅ Записано в журнал" in texts(sent)
    [entry] = await _entries(tester)
    assert (entry.audience, entry.kind, entry.reached, entry.title) == (
        "educators", "seminar", 48, "Семинар-практикум")  # fmt: skip


async def test_confirmed_big_headcount_is_stored_before_the_reply(tester: BotTester) -> None:
    await _staff(tester)
    await tester.send("/log 2025-05-09 прочие 150000 Городской фестиваль", user_id=STAFF)
    assert await _entries(tester) == []
    _fail_next(tester, "SendMessage")
    sent = await tester.click("Да, число верное", user_id=STAFF)
    assert "✅ Записано в журнал" in texts(sent)
    [entry] = await _entries(tester)
    assert entry.reached == 150000 and entry.title == "Городской фестиваль"


async def test_edit_by_text_is_stored_and_the_card_arrives(tester: BotTester) -> None:
    await _staff(tester)
    entry_id = await _logged(tester)
    await tester.press(tester.last(STAFF), LogItemCD(action="field", id=entry_id, field="reached").pack(),
                       user_id=STAFF)  # fmt: skip
    _fail_next(tester, "SendMessage")
    sent = await tester.send("85", user_id=STAFF)
    assert "✅ Изменено" in texts(sent) and "85 чел." in texts(sent)
    [entry] = await _entries(tester)
    assert entry.reached == 85
    assert await _trail(tester) == [(entry_id, "create", STAFF), (entry_id, "update", STAFF)]


async def test_edit_by_button_is_stored_and_the_card_arrives(tester: BotTester) -> None:
    await _staff(tester)
    await _logged(tester)
    await tester.click("✏️ Изменить", user_id=STAFF)
    await tester.click("Категория", user_id=STAFF)
    _fail_next(tester, "SendMessage")
    sent = await tester.click("Обучающиеся", user_id=STAFF)
    assert tester.alerts()[-1] == "Изменено"
    assert "✅ Изменено" in texts(sent) and "Обучающиеся" in texts(sent)
    [entry] = await _entries(tester)
    assert entry.audience == "students"
    assert [a for _, a, _ in await _trail(tester)] == ["create", "update"]
    # the same value again: nothing is written, and the bot says so
    await tester.click("Категория", user_id=STAFF)
    await tester.click("Обучающиеся", user_id=STAFF)
    assert tester.alerts()[-1] == "Без изменений"
    assert len(await _trail(tester)) == 2


async def test_direction_toggle_is_stored_when_the_markup_edit_fails_once(tester: BotTester) -> None:
    await _staff(tester)
    entry_id = await _logged(tester)
    await tester.press(tester.last(STAFF), LogItemCD(action="field", id=entry_id, field="directions").pack(),
                       user_id=STAFF)  # fmt: skip
    _fail_next(tester, "EditMessageReplyMarkup")
    sent = await tester.click("техническая", user_id=STAFF)
    assert sent[-1].method == "EditMessageReplyMarkup"
    assert "☑️ техническая" in [b[0] for b in sent[-1].buttons]
    [entry] = await _entries(tester)
    assert entry.directions == ["tech"]
    await tester.click("техническая", user_id=STAFF)  # toggled off again
    [entry] = await _entries(tester)
    assert entry.directions == []


async def test_delete_is_stored_when_the_toast_and_the_reply_fail_once(tester: BotTester) -> None:
    await _staff(tester)
    entry_id = await _logged(tester)
    await tester.click("🗑 Удалить", user_id=STAFF)
    retries = tester.app.sender.retries
    _fail_next(tester, "AnswerCallbackQuery")
    _fail_next(tester, "SendMessage")
    sent = await tester.click("Да, удалить", user_id=STAFF)
    assert tester.app.sender.retries == retries + 2
    assert tester.alerts()[-1] == "Удалено"
    assert f"🗑 Запись № {entry_id} удалена" in texts(sent)
    assert await _entries(tester) == []
    assert await _trail(tester) == [(entry_id, "create", STAFF), (entry_id, "delete", STAFF)]


async def test_a_reply_that_finally_fails_does_not_take_the_entry_back(tester: BotTester) -> None:
    """Before the refactor the update's transaction rolled back when the reply raised."""
    await _staff(tester)
    tester.session.fail_next(403, "Forbidden: bot was blocked by the user", method="SendMessage")
    sent = await tester.send("/log 2025-03-14 родители 70 Родительское собрание", user_id=STAFF)
    assert "Записано" not in texts(sent)  # the reply was refused, not retried
    [entry] = await _entries(tester)
    assert entry.reached == 70
    assert await _trail(tester) == [(entry.id, "create", STAFF)]
