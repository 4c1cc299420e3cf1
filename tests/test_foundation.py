"""Dispatcher-level scenarios for the foundation: start, consent, help, data, staff."""

from __future__ import annotations

import logging

import pytest
from aiogram.fsm.storage.memory import MemoryStorage
from sqlalchemy import func, select

from bot.app import create_app
from bot.middlewares import ThrottlingMiddleware
from bot.services.activity import Kind, record
from bot.settings import Settings
from db.models import ActivityEvent, User
from tests.support.client import ADMIN_ID, PARENT_ID, BotTester, texts


async def test_start_shows_greeting_then_municipality_then_consent_and_stores_nothing(
    tester: BotTester,
) -> None:
    sent = await tester.send("/start")
    assert "Здравствуйте" in sent[0].text and "Иркутская область" in sent[0].text
    # two municipalities: which МОЦ is the operator is asked before the consent names one
    assert "Саянск" not in sent[0].text and "152-ФЗ" not in texts(sent)
    assert [b[0] for b in sent[1].buttons] == ["Саянск", "Зима"]
    sent = await tester.click("Зима")
    assert "152-ФЗ" in sent[-1].text and "г. Зимы" in sent[-1].text and "Саянск" not in sent[-1].text
    assert [b[0] for b in sent[-1].buttons] == ["✅ Согласен", "Не согласен", "◀ Другой муниципалитет"]
    async with tester.db() as session:
        # Reading does not write: before consent not even the id is stored.
        assert await session.get(User, PARENT_ID) is None


async def test_municipality_then_consent_then_menu(tester: BotTester) -> None:
    await tester.send("/start")
    await tester.click("Зима")
    sent = await tester.click("Согласен")
    assert "Согласие сохранено" in tester.alerts()[-1]
    assert "Главное меню" in texts(sent)
    async with tester.db() as session:
        user = await session.get(User, PARENT_ID)
        assert user is not None and user.consent_at is not None
        assert user.municipality_id == "zima"
        assert user.first_seen_at is not None and user.last_seen_at is not None


async def test_features_wait_for_consent(tester: BotTester) -> None:
    await tester.send("/start")
    sent = await tester.send("как получить сертификат")
    assert "согласие" in sent[0].text and "отвечу на него сразу после согласия" in sent[0].text
    assert [b[0] for b in sent[0].buttons] == ["Саянск", "Зима"]  # the municipality first
    await tester.click("Саянск")
    sent = await tester.send("/search")
    assert "г. Саянска" in sent[0].text and sent[0].buttons[0][0] == "✅ Согласен"


async def test_help_lists_commands_and_staff_part_only_for_staff(tester: BotTester) -> None:
    await tester.start_and_consent()
    parent_help = texts(await tester.send("/help"))
    for command in ("/search", "/mydata", "/forget", "/cancel"):
        assert command in parent_help
    assert "/staff" not in parent_help
    admin_help = texts(await tester.send("/help", user_id=ADMIN_ID))
    assert "/staff add" in admin_help


async def test_mydata_and_forget(tester: BotTester) -> None:
    await tester.start_and_consent()
    async with tester.db() as session:
        await record(session, Kind.FAQ_QUESTION, user_id=PARENT_ID, topic="certificate-what")
    mydata = texts(await tester.send("/mydata"))
    assert str(PARENT_ID) in mydata and "Саянск" in mydata and "журнале" in mydata
    sent = await tester.send("/forget")
    assert "Удалить" in sent[0].text
    await tester.click("Отмена")
    async with tester.db() as session:
        assert await session.get(User, PARENT_ID) is not None
    await tester.send("/forget")
    sent = await tester.click("Да, удалить")
    assert "данные удалены" in texts(sent)
    async with tester.db() as session:
        assert await session.get(User, PARENT_ID) is None
        # the report keeps its count, without the person's id
        rows = (await session.scalars(select(ActivityEvent))).all()
        assert len(rows) == 1 and rows[0].user_id is not None and rows[0].user_id < 0


async def test_staff_management_by_admin(tester: BotTester) -> None:
    sent = await tester.send("/staff add 12345", user_id=ADMIN_ID)
    assert "назначен сотрудником" in sent[0].text
    sent = await tester.send("/staff add 12345", user_id=ADMIN_ID)
    assert "уже сотрудник" in sent[0].text
    listing = texts(await tester.send("/staff list", user_id=ADMIN_ID))
    assert "12345" in listing and str(ADMIN_ID) in listing
    # the new staff member can list but not grant
    assert "12345" in texts(await tester.send("/staff list", user_id=12345))
    sent = await tester.send("/staff add 777", user_id=12345)
    assert "только администраторы" in sent[0].text
    sent = await tester.send("/staff remove 12345", user_id=ADMIN_ID)
    assert "снята" in sent[0].text
    await tester.start_and_consent(user_id=12345)
    sent = await tester.send("/staff list", user_id=12345)
    assert "только сотрудникам" in sent[0].text
    max_person = 2**53 + 12345  # a MAX parent's internal id: staff work in Telegram only
    for bad in ("/staff add abc", "/staff add", f"/staff remove {ADMIN_ID}", "/staff frobnicate",
                f"/staff add {max_person}", "/staff add -100123"):  # fmt: skip
        reply = texts(await tester.send(bad, user_id=ADMIN_ID))
        assert reply and "назначен" not in reply


async def test_parent_cannot_use_staff_command(tester: BotTester) -> None:
    await tester.start_and_consent()
    sent = await tester.send("/staff add 1001")
    assert sent[0].text == "Эта команда доступна только сотрудникам МОЦ."
    async with tester.db() as session:
        user = await session.get(User, PARENT_ID)
        assert user is not None and user.role == "parent"


async def test_throttling_answers_once_and_does_no_work(settings: Settings) -> None:
    settings.throttle_rate, settings.throttle_burst = 0.5, 3
    app = create_app(settings, storage=MemoryStorage())
    tester = BotTester(app)
    replies = []
    for _ in range(20):
        replies.extend(await tester.send("/help"))
    throttled = [s for s in replies if "Слишком часто" in s.text]
    assert len(throttled) == 1
    assert sum("Что умеет бот" in s.text for s in replies) == 3
    # a flood from one user does not slow down another
    assert "Что умеет бот" in texts(await tester.send("/help", user_id=2002))
    await app.engine.dispose()


def test_token_bucket_refills() -> None:
    now = [0.0]
    mw = ThrottlingMiddleware(rate=1.0, burst=2, clock=lambda: now[0])
    assert mw.allow(1) == (True, False)
    assert mw.allow(1) == (True, False)
    assert mw.allow(1) == (False, True)
    assert mw.allow(1) == (False, False)
    now[0] += 1.0
    assert mw.allow(1) == (True, False)
    now[0] += 10.0
    assert mw.allow(1) == (True, False) and mw.allow(1) == (True, False)


async def test_error_handler_logs_and_answers(
    tester: BotTester, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await tester.start_and_consent()

    async def boom(*args: object, **kwargs: object) -> list[str]:
        raise RuntimeError("database exploded")

    monkeypatch.setattr("bot.services.privacy.PrivacyService.describe", boom)
    with caplog.at_level(logging.ERROR):
        sent = await tester.send("/mydata")
    assert "что-то пошло не так" in sent[0].text
    assert any("database exploded" in r.getMessage() or r.exc_info for r in caplog.records)


async def test_error_rolls_back_the_unit_of_work(tester: BotTester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit of work that fails half-way leaves nothing half-written."""
    await tester.start_and_consent()
    from bot.services.privacy import PrivacyService
    from db.repositories.users import UserRepo

    async def half_then_boom(self: PrivacyService, user_id: int) -> None:
        async with self.database.write() as uow:
            await uow.repo(UserRepo).delete(user_id)
            raise RuntimeError("failed after a write")

    monkeypatch.setattr("bot.services.privacy.PrivacyService.forget", half_then_boom)
    await tester.send("/forget")
    await tester.click("Да, удалить")
    async with tester.db() as session:
        assert await session.get(User, PARENT_ID) is not None


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            {
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "s",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                }
            },
            "стикер",
        ),
        ({"voice": {"file_id": "v", "file_unique_id": "v", "duration": 1}}, "голосовое"),
        ({"location": {"latitude": 52.0, "longitude": 104.0}}, "геопозицию"),
    ],
)
async def test_non_text_messages_get_a_helpful_answer(
    tester: BotTester, extra: dict[str, object], expected: str
) -> None:
    await tester.start_and_consent()
    sent = await tester.send(None, **extra)
    assert expected in sent[0].text and "текстом" in sent[0].text
    assert any("Главное меню" in b[0] or "Частые вопросы" in b[0] for b in sent[0].buttons)


async def test_bad_text_input(tester: BotTester) -> None:
    await tester.start_and_consent()
    sent = await tester.send("/frobnicate")
    assert "Такой команды нет" in sent[0].text
    sent = await tester.send("<b>x</b> & <script>" * 3)
    assert sent, "HTML-looking text must get an answer"
    sent = await tester.send("а" * 4500)
    assert sent and len(sent[0].text) <= 4096


async def test_old_buttons_and_forged_callbacks(tester: BotTester) -> None:
    await tester.start_and_consent()
    menu = tester.last()
    sent = await tester.press(menu, "no-such:button")
    assert not sent
    assert "устарела" in tester.alerts()[-1]


async def test_cancel_leaves_dialogs(tester: BotTester) -> None:
    await tester.start_and_consent()
    sent = await tester.send("/cancel")
    assert "нечего отменять" in sent[0].text


async def test_blocked_user_is_reactivated_by_start(tester: BotTester) -> None:
    await tester.start_and_consent()
    async with tester.db() as session:
        user = await session.get(User, PARENT_ID)
        assert user is not None
        user.is_active = False
    await tester.send("/start")
    async with tester.db() as session:
        user = await session.get(User, PARENT_ID)
        assert user is not None and user.is_active
        count = await session.scalar(select(func.count()).select_from(User))
        assert count == 1


def test_the_command_menu_reads_its_descriptions_from_content() -> None:
    from bot import texts
    from bot.app import PUBLIC_COMMANDS, command_menu

    menu = command_menu(texts.current())
    assert [c.command for c in menu] == list(PUBLIC_COMMANDS)
    assert menu[0].description == "Начать и главное меню"
    assert all(0 < len(c.description) <= 256 for c in menu)
