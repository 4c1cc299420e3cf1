"""Issue 12, parents' first week: first contact (the municipality before the consent,
«Не согласен», a question typed before consent), leaving dialogs with a word or «Отмена»,
the thread with a specialist (replies both ways, screenshots), ways back, and the texts
of these screens living in content/."""

from __future__ import annotations

import ast
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from sqlalchemy import func, select

from bot.app import create_app
from bot.content import load_content
from bot.html import visible_length
from bot.services.activity import Kind
from bot.settings import PROJECT_ROOT, Settings
from db import migrate
from db.models import ActivityEvent, Broadcast, Event, FaqHandoff, FaqQuestion, Notice, User
from tests.support.client import ADMIN_ID, PARENT_ID, STAFF_CHAT_ID, BotTester, texts

PHOTO = [
    {"file_id": "screen-small", "file_unique_id": "s1", "width": 90, "height": 160},
    {"file_id": "screen-big", "file_unique_id": "s2", "width": 720, "height": 1280},
]


def labels(sent: object) -> list[str]:
    return [b[0] for b in getattr(sent, "buttons", [])]


async def _count(tester: BotTester, model: type) -> int:
    async with tester.db() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --- first contact ------------------------------------------------------------------------------
async def test_the_consent_names_the_municipality_the_parent_chose(tester: BotTester) -> None:
    sent = await tester.send("/start")
    assert "Иркутская область" in sent[0].text and "Саянск" not in texts(sent)
    sent = await tester.click("Зима")
    assert "Муниципальный опорный центр г. Зимы" in texts(sent) and "Саянск" not in texts(sent)
    # the parent picked the wrong one: back to the choice, and the consent follows it
    await tester.click("Другой муниципалитет")
    sent = await tester.click("Саянск")
    assert "Муниципальный опорный центр г. Саянска" in texts(sent) and "Зим" not in texts(sent)
    await tester.click("Согласен")
    async with tester.db() as session:
        user = await session.get(User, PARENT_ID)
        assert user is not None and user.municipality_id == "sayansk" and user.consent_at is not None


async def test_with_one_municipality_the_consent_comes_at_once(settings: Settings, tmp_path: Path) -> None:
    content_dir = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", content_dir)
    path = content_dir / "municipalities.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("  - id: zima")], encoding="utf-8")
    settings.content_dir = content_dir
    app = create_app(settings, storage=MemoryStorage())
    try:
        tester = BotTester(app)
        sent = await tester.send("/start")
        assert "(Саянск)" in sent[0].text and "г. Саянска" in sent[1].text
        assert labels(sent[1]) == ["✅ Согласен", "Не согласен"]
        sent = await tester.click("Согласен")
        assert "Главное меню" in texts(sent)
        async with tester.db() as session:
            user = await session.get(User, PARENT_ID)
            assert user is not None and user.municipality_id == "sayansk"
    finally:
        await app.engine.dispose()


async def test_declining_keeps_nothing_shows_contacts_and_start_asks_again(tester: BotTester) -> None:
    await tester.send("/start")
    await tester.click("Зима")
    await tester.send("как получить сертификат")  # kept for after consent...
    sent = await tester.click("Не согласен")
    declined = sent[-1]
    assert "ничего о вас не сохраняю" in declined.text
    assert "8 (39554) 0-00-01" in declined.text and "Саянск" not in declined.text  # Зима's МОЦ
    assert any(url and url.startswith("https://xn--") for _t, _d, url in declined.buttons)  # the Navigator
    assert "◀ Вернуться к согласию" in labels(declined)
    async with tester.db() as session:
        assert await session.get(User, PARENT_ID) is None
    assert await _count(tester, FaqQuestion) == 0
    # ...and dropped with the refusal: consenting later answers nothing typed before it
    sent = await tester.click("Вернуться к согласию")
    assert "152-ФЗ" in sent[-1].text and "г. Зимы" in sent[-1].text
    sent = await tester.click("Согласен")
    assert "Главное меню" in texts(sent) and await _count(tester, FaqQuestion) == 0
    # a later /start of someone who declined offers the consent again
    sent = await tester.send("/start", user_id=3003)
    await tester.click("Саянск", user_id=3003)
    await tester.click("Не согласен", user_id=3003)
    sent = await tester.send("/start", user_id=3003)
    assert labels(sent[-1]) == ["Саянск", "Зима"]


async def test_a_question_typed_before_consent_is_answered_right_after_it(tester: BotTester) -> None:
    await tester.send("/start")
    sent = await tester.send("что такое сертификат пфдо")
    assert "отвечу на него сразу после согласия" in sent[0].text
    assert await _count(tester, FaqQuestion) == 0  # nothing stored before consent
    await tester.click("Зима")
    sent = await tester.click("Согласен")
    assert "Теперь отвечаю на ваш вопрос" in texts(sent)
    assert "72 часа" in sent[-1].text  # answered with Зима's settings
    async with tester.db() as session:
        question = await session.scalar(select(FaqQuestion))
        assert question is not None and question.municipality_id == "zima" and question.user_id == PARENT_ID


async def test_a_first_message_search_is_answered_after_consent_and_a_bare_hello_is_skipped(
    tester: BotTester,
) -> None:
    # no /start at all: the parent opens the bot by typing
    sent = await tester.send("Здравствуйте")
    assert "запомнил" not in sent[0].text  # a hello is not a question to keep
    sent = await tester.send("шахматы")
    assert "запомнил" in sent[0].text
    assert labels(sent[0]) == ["Саянск", "Зима"]
    await tester.click("Саянск")
    sent = await tester.click("Согласен")
    # the catalogue took it (its own buttons), as it would take it typed today
    assert any(d and d.startswith("ps:") for s in sent for _t, d, _u in s.buttons)
    assert "Здравствуйте! Напишите вопрос" not in texts(sent)
    assert await _count(tester, FaqQuestion) == 0
    assert texts(sent).count("Теперь отвечаю") == 1


async def test_a_question_kept_for_more_than_a_day_is_not_answered(
    tester: BotTester, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    await tester.send("/start")
    await tester.send("что такое сертификат пфдо")
    later = time.time() + 25 * 3600
    monkeypatch.setattr("bot.dialogs.time.time", lambda: later)
    await tester.click("Зима")
    sent = await tester.click("Согласен")
    assert "Главное меню" in texts(sent) and "Теперь отвечаю" not in texts(sent)


async def test_help_before_the_municipality_names_no_one_s_contacts(tester: BotTester) -> None:
    sent = await tester.send("/help")
    assert "/start" in sent[0].text and "0-00-01" not in sent[0].text
    await tester.start_and_consent(municipality="Зима")
    assert "8 (39554)" in texts(await tester.send("/help"))


# --- leaving dialogs ------------------------------------------------------------------------------
@pytest.mark.parametrize("word", ["отмена", "Стоп!", "назад", "не надо", "Отменить", "/cancel"])
async def test_cancel_words_leave_the_question_for_staff(tester: BotTester, word: str) -> None:
    await tester.start_and_consent()
    await tester.send("/ask")
    assert "Отмена" in " ".join(labels(tester.last()))  # the prompt has the button too
    sent = await tester.send(word)
    assert "отменено" in sent[0].text
    assert await _count(tester, FaqHandoff) == 0
    assert not [s for s in tester.sent if s.chat_id == STAFF_CHAT_ID]
    # the next text is a question for the bot again, not for staff
    await tester.send("как получить сертификат")
    assert await _count(tester, FaqHandoff) == 0


async def test_cancel_words_leave_staff_dialogs(tester: BotTester) -> None:
    await tester.send("/event_new", user_id=ADMIN_ID)
    sent = await tester.send("назад", user_id=ADMIN_ID)
    assert "мероприятие не создано" in sent[0].text  # the dialog's own answer to a cancel word
    await tester.send("День открытых дверей", user_id=ADMIN_ID)  # no longer the title step
    assert await _count(tester, Event) == 0
    await tester.send("/broadcast", user_id=ADMIN_ID)
    await tester.send("не надо", user_id=ADMIN_ID)
    await tester.send("Текст рассылки", user_id=ADMIN_ID)
    assert await _count(tester, Broadcast) == 0
    key = StorageKey(bot_id=tester.bot.id, chat_id=ADMIN_ID, user_id=ADMIN_ID)
    assert await tester.app.dispatcher.storage.get_state(key) is None


async def test_the_cancel_button_and_words_outside_a_dialog(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.click("Вопрос специалисту")
    sent = await tester.click("Отмена")
    assert "отменено" in texts(sent) and "Отменено" in tester.alerts()[-1]
    await tester.send("сколько стоит секция бокса")
    assert await _count(tester, FaqHandoff) == 0
    sent = await tester.send("отмена")
    assert "нечего отменять" in sent[0].text
    async with tester.db() as session:  # a cancel word is not a question for the FAQ
        logged = (await session.scalars(select(FaqQuestion.text))).all()
    assert "отмена" not in logged


async def test_cancel_words_are_content(settings: Settings, tmp_path: Path) -> None:
    content_dir = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", content_dir)
    path = content_dir / "texts" / "common.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace('common.cancel_words: "', 'common.cancel_words: "хватит, '),
        encoding="utf-8",
    )
    settings.content_dir = content_dir
    app = create_app(settings, storage=MemoryStorage())
    try:
        tester = BotTester(app)
        await tester.start_and_consent()
        await tester.send("/ask")
        assert "отменено" in texts(await tester.send("Хватит"))
    finally:
        await app.engine.dispose()


async def test_text_no_dialog_takes_says_where_to_go(tester: BotTester) -> None:
    await tester.start_and_consent()
    key = StorageKey(bot_id=tester.bot.id, chat_id=PARENT_ID, user_id=PARENT_ID)
    await tester.app.dispatcher.storage.set_state(key, "SomeForm:gone")  # a dialog from an old version
    sent = await tester.send("что это")
    assert "обратиться в МОЦ напрямую" in sent[0].text and "8 (39553)" in sent[0].text
    assert "🏠 Главное меню" in labels(sent[0]) or "❓ Частые вопросы" in labels(sent[0])


# --- the thread with a specialist -------------------------------------------------------------------
async def test_the_parent_replies_to_the_specialist_and_the_thread_goes_on(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.send("/ask как записать ребёнка на шахматы")
    handoff_post = tester.last(STAFF_CHAT_ID)
    await tester.staff_reply(handoff_post, "Через Навигатор, раздел «Шахматы»")
    answer = tester.last(PARENT_ID)
    assert "Ответ специалиста" in answer.text
    assert labels(answer) == ["↩️ Ответить специалисту", "🏠 Главное меню"]

    sent = await tester.click("Ответить специалисту")
    assert "как записать ребёнка на шахматы" in sent[-1].text and "Отмена" in " ".join(labels(sent[-1]))
    sent = await tester.send("А если ребёнку 4 года?")
    assert "Передал специалисту" in texts(sent)
    post = tester.last(STAFF_CHAT_ID)
    assert post.reply_to == handoff_post.message_id  # under the question, in the same thread
    assert "Родитель отвечает" in post.text and "А если ребёнку 4 года?" in post.text
    assert "ответ родителя" in texts(await tester.send("/questions", user_id=ADMIN_ID))

    await tester.staff_reply(post, "С 5 лет, но есть кружки с 4")
    answer = tester.last(PARENT_ID)
    assert "на ваше сообщение «А если ребёнку 4 года?»" in answer.text and "С 5 лет" in answer.text
    assert "↩️ Ответить специалисту" in labels(answer)
    assert "его сообщение ждало" in tester.last(STAFF_CHAT_ID).text
    assert "Открытых вопросов нет" in texts(await tester.send("/questions", user_id=ADMIN_ID))
    # one hand-off in the report, answered once: a reply is not a new question
    async with tester.db() as session:
        kinds = (await session.scalars(select(ActivityEvent.kind))).all()
        assert kinds.count(Kind.HANDOFF_CREATED) == 1 and kinds.count(Kind.HANDOFF_ANSWERED) == 1
        assert await session.scalar(select(func.count()).select_from(FaqHandoff)) == 1


async def test_telegram_reply_to_the_answer_goes_to_the_specialist_not_the_faq(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.send("/ask помогите с записью")
    handoff_post = tester.last(STAFF_CHAT_ID)
    await tester.staff_reply(handoff_post, "Какой кружок?")
    answer = tester.last(PARENT_ID)
    reply = tester.factory.message(
        "сертификат", user_id=PARENT_ID, reply_to={**_bot_message(answer.message_id, answer.text)}
    )
    sent = await tester.feed(reply)
    assert "Передал специалисту" in texts(sent)
    assert tester.last(STAFF_CHAT_ID).reply_to == handoff_post.message_id
    async with tester.db() as session:
        reply_row = await session.scalar(select(FaqQuestion).where(FaqQuestion.decision == "reply"))
        assert reply_row is not None and reply_row.text == "сертификат"


async def test_someone_else_s_thread_and_a_forgotten_one_are_closed(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.send("/ask вопрос")
    await tester.staff_reply(tester.last(STAFF_CHAT_ID), "ответ")
    answer = tester.last(PARENT_ID)
    data = next(d for _t, d, _u in answer.buttons if d and d.startswith("fr:"))
    await tester.start_and_consent(user_id=2002)
    await tester.press(answer, data, user_id=2002)
    assert "недоступна" in tester.alerts()[-1]
    await tester.send("/forget")
    await tester.click("Да, удалить")
    await tester.start_and_consent()
    await tester.press(answer, data)
    assert "недоступна" in tester.alerts()[-1]


async def test_a_screenshot_goes_to_staff_with_the_question(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.send("/ask")
    await tester.send(None, photo=PHOTO, caption="Навигатор пишет «ошибка 500» при входе")
    post = tester.last(STAFF_CHAT_ID)
    assert post.method == "SendPhoto" and post.file_name == "screen-big"  # the largest size
    assert "ошибка 500" in post.text and "скриншот" in post.text
    assert "скриншот переданы" in tester.last(PARENT_ID).text
    await tester.staff_reply(post, "Очистите кэш браузера")
    assert "Очистите кэш" in tester.last(PARENT_ID).text


async def test_a_screenshot_outside_a_dialog_is_offered_to_staff(tester: BotTester) -> None:
    await tester.start_and_consent()
    sent = await tester.send(None, photo=PHOTO)
    assert "Это скриншот?" in sent[0].text and "Отмена" in " ".join(labels(sent[0]))
    await tester.send("не получается добавить ребёнка")
    post = tester.last(STAFF_CHAT_ID)
    assert post.method == "SendPhoto" and "не получается добавить ребёнка" in post.text
    # with a caption: one button sends both
    sent = await tester.send(None, photo=PHOTO, caption="что значит этот статус?")
    assert "что значит этот статус?" in sent[0].text
    await tester.click("Передать специалисту")
    post = tester.last(STAFF_CHAT_ID)
    assert post.method == "SendPhoto" and "что значит этот статус?" in post.text
    assert await _count(tester, FaqHandoff) == 2


async def test_a_screenshot_alone_as_a_reply_and_a_long_caption_fits(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.send("/ask не могу подтвердить сертификат " + "подробно " * 150)
    await tester.staff_reply(tester.last(STAFF_CHAT_ID), "Пришлите скриншот")
    await tester.click("Ответить специалисту")
    await tester.send(None, photo=PHOTO)
    post = tester.last(STAFF_CHAT_ID)
    assert post.method == "SendPhoto" and "скриншот без подписи" in post.text
    await tester.send("/ask")
    await tester.send(None, photo=PHOTO, caption="ошибка " * 140)  # 980 characters of caption
    post = tester.last(STAFF_CHAT_ID)
    assert post.method == "SendPhoto" and visible_length(post.text) <= 1024
    async with tester.db() as session:
        states = (await session.scalars(select(Notice.state))).all()
    assert set(states) == {"sent"}


async def test_mydata_counts_replies_and_forget_removes_them(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.send("/ask вопрос про сертификат")
    await tester.staff_reply(tester.last(STAFF_CHAT_ID), "ответ")
    await tester.click("Ответить специалисту")
    await tester.send(None, photo=PHOTO, caption="вот скриншот")
    mydata = tester.last()
    assert "ответов специалистам" in (await tester.send("/mydata"))[0].text
    assert mydata is not None
    await tester.send("/forget")
    await tester.click("Да, удалить")
    async with tester.db() as session:
        rows = (await session.scalars(select(FaqQuestion))).all()
        assert rows and all(r.text == "" and r.handoff_id is None for r in rows)
        photos = (await session.scalars(select(Notice.photo_file_id))).all()
        assert all(p is None for p in photos)


# --- ways back ---------------------------------------------------------------------------------------
async def test_every_screen_of_first_contact_and_hand_off_has_a_way_back(tester: BotTester) -> None:
    await tester.start_and_consent()
    for command in ("/mydata", "/help", "/frobnicate", "/ask вопрос", "/cancel"):
        await tester.send(command)
        assert any("Главное меню" in label or "Частые вопросы" in label for label in labels(tester.last())), (
            command
        )
    await tester.send("/forget")
    sent = await tester.click("Отмена")
    assert "🏠 Главное меню" in labels(sent[-1])


# --- the schema ----------------------------------------------------------------------------------------
def test_migration_0007_keeps_hand_offs_and_notices(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    migrate.upgrade(url, "0006")
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO faq_questions"
            " (id, asked_at, user_id, municipality_id, text, normalized, decision, score)"
            " VALUES (7, '2026-11-01 10:00:00', 1001, 'zima', 'вопрос', 'вопрос', 'ask', 0)"
        )
        db.execute(
            "INSERT INTO faq_handoffs (id, question_id, created_at, staff_chat_id, staff_message_id)"
            " VALUES (3, 7, '2026-11-01 10:00:01', -100, 55)"
        )
        db.execute(
            "INSERT INTO notices (chat_id, user_id, purpose, ref, text, disable_preview, state, attempts,"
            " next_attempt_at, created_at, sent_message_id)"
            " VALUES (-100, 1001, 'handoff', '3', 'текст', 0, 'sent', 1, '2026-11-01 10:00:01',"
            " '2026-11-01 10:00:01', 55)"
        )
    migrate.upgrade(url)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT text, handoff_id FROM faq_questions").fetchall() == [("вопрос", None)]
        assert db.execute("SELECT staff_message_id, reply_at FROM faq_handoffs").fetchall() == [(55, None)]
        assert db.execute("SELECT text, photo_file_id, reply_to_message_id FROM notices").fetchall() == [
            ("текст", None, None)
        ]
        db.execute("UPDATE faq_questions SET handoff_id = 3")
    migrate.downgrade(url, "0006")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT text FROM faq_questions").fetchall() == [("вопрос",)]
        assert db.execute("SELECT count(*) FROM notices").fetchone() == (1,)


# --- texts in content --------------------------------------------------------------------------------
OWN_CODE = [
    "handlers/start.py",
    "handlers/privacy.py",
    "handlers/fallback.py",
    "handlers/errors.py",
    "bot/middlewares/guards.py",
    "bot/keyboards.py",
    "bot/dialogs.py",
    "bot/views/start.py",
    "bot/views/handoff.py",
]
_CYRILLIC = re.compile("[а-яА-ЯёЁ]")
_KEY = re.compile(r"^(common|start|faq_handoff)\.[a-z_]+$")


def _string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


@pytest.mark.parametrize("name", OWN_CODE)
def test_no_russian_text_in_code_and_every_key_exists(name: str) -> None:
    content = load_content(PROJECT_ROOT / "content", sections={})
    constants = _string_constants(PROJECT_ROOT / name)
    assert [c for c in constants if _CYRILLIC.search(c)] == [], (
        f"{name}: Russian text belongs in content/texts"
    )
    missing = [c for c in constants if _KEY.match(c) and not content.has_text(c)]
    assert missing == []


def test_the_hand_off_part_of_the_faq_handlers_reads_its_texts_from_content() -> None:
    source = (PROJECT_ROOT / "handlers" / "faq.py").read_text(encoding="utf-8")
    own = source[source.index("# --- hand-off to a specialist") :]
    assert not _CYRILLIC.search(
        "\n".join(line for line in own.splitlines() if not line.lstrip().startswith(("#", '"""')))
    )
    content = load_content(PROJECT_ROOT / "content", sections={})
    for key in re.findall(r'"((?:common|start|faq_handoff)\.[a-z_]+)"', source):
        assert content.has_text(key), key


def _bot_message(message_id: int, text: str) -> dict[str, object]:
    from datetime import UTC, datetime

    return {
        "message_id": message_id,
        "date": int(datetime.now(UTC).timestamp()),
        "chat": {"id": PARENT_ID, "type": "private", "first_name": "Анна"},
        "from": {"id": 42, "is_bot": True, "first_name": "mocbot"},
        "text": text,
    }
