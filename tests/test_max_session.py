"""The MAX adapter (bot/channels/max/) against the MAX stand-in (bot/local_max_api.py).

The stand-in refuses what MAX refuses (4,000 characters, 7 buttons a row, unknown HTML tags
with `html_strict=True`, an empty callback answer …), so every test here fails if the adapter
sends something MAX would not take.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramServerError,
)
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
)
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.channels import MAX_ID_BASE, Channel, ForeignIdError, internal_id
from bot.channels.max import (
    SECRET_HEADER,
    MaxInbound,
    MaxPolling,
    MaxSession,
    UnsupportedMethod,
    create_max_bot,
    max_webhook_handler,
    split_html,
    subscribe_max_webhook,
    to_max_html,
)
from bot.html import html_errors, strip_tags
from bot.local_max_api import BOT_ID, TEXT_LIMIT, FakeMaxAPI
from bot.sender import LocalSendLimiter, SenderMiddleware

TOKEN = "max-SECRET-token-0123456789"
PARENT = 5_550_001
CHAT = internal_id(Channel.MAX, PARENT)


@pytest.fixture
async def max_api() -> AsyncIterator[FakeMaxAPI]:
    async with FakeMaxAPI(token=TOKEN, long_poll_cap=0.2) as api:
        yield api


@pytest.fixture
async def bot(max_api: FakeMaxAPI) -> AsyncIterator[Bot]:
    bot = await create_max_bot(TOKEN, max_api.base_url, attachment_retry_delays=(0.1, 0.2, 0.4, 0.8))
    try:
        yield bot
    finally:
        await bot.session.close()


def session_of(bot: Bot) -> MaxSession:
    assert isinstance(bot.session, MaxSession)
    return bot.session


def cb(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def link(text: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, url="https://example.org/" + text)


def markup(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=list(rows))


# --- sending ------------------------------------------------------------------------------------


async def test_bot_identity_is_the_internal_id(bot: Bot) -> None:
    assert bot.id == MAX_ID_BASE + BOT_ID
    me = await bot.get_me()
    assert me.id == bot.id and me.username == "mocbot_test_bot"


async def test_text_and_keyboard_are_reflowed_to_max_limits(
    bot: Bot, max_api: FakeMaxAPI, caplog: pytest.LogCaptureFixture
) -> None:
    max_api.user(PARENT)
    wide = [cb(str(i), f"d:{i}") for i in range(10)]
    with_link = [link("site"), *[cb(f"c{i}", f"c:{i}") for i in range(4)]]
    sent = await bot.send_message(CHAT, "<b>Выберите</b> день", reply_markup=markup(wide, with_link))
    stored = max_api.last(PARENT)
    assert stored.format == "html" and stored.text == "<b>Выберите</b> день"
    assert [len(row) for row in stored.keyboard] == [7, 3, 3, 2]
    assert [b["type"] for b in stored.keyboard[2]] == ["link", "callback", "callback"]
    assert stored.keyboard[0][0] == {"type": "callback", "text": "0", "payload": "d:0"}
    assert sent.chat.id == CHAT and sent.message_id > 0
    assert session_of(bot).ids.get(sent.message_id).mid == stored.mid  # type: ignore[union-attr]
    assert sent.reply_markup is not None and sent.text == "Выберите день"

    # Above 30 rows: the excess is dropped (the message still goes) and an ERROR names it.
    tall = [[cb(f"r{i}", f"r:{i}")] for i in range(33)]
    long_label = "д" * 200
    with caplog.at_level(logging.ERROR):
        await bot.send_message(CHAT, "Список", reply_markup=markup(*tall, [cb(long_label, "x")]))
    assert len(max_api.last(PARENT).keyboard) == 30
    assert "34 rows" in caplog.text and "'r0'" in caplog.text
    assert max_api.refused() == []


async def test_long_text_is_split_with_tags_intact_and_the_keyboard_last(
    bot: Bot, max_api: FakeMaxAPI
) -> None:
    max_api.user(PARENT)
    paragraph = "\n".join(
        f"<b>Строка {i}</b> — занятие по <i>робототехнике</i> &amp; шахматам" for i in range(40)
    )
    text = f"<i>{paragraph}</i>\n\n<blockquote>Вопрос родителя</blockquote>\n\n" + "\n\n".join(
        [paragraph] * 4
    )
    assert len(text) > 2 * TEXT_LIMIT
    sent = await bot.send_message(CHAT, text, reply_markup=markup([cb("Ещё", "more")]))
    parts = max_api.sent(PARENT)
    assert len(parts) >= 3
    assert all(len(p.text) < TEXT_LIMIT for p in parts)  # 3,999 at most: maxapi's own limit
    assert all(html_errors(p.text) == [] for p in parts)
    assert [bool(p.keyboard) for p in parts] == [False] * (len(parts) - 1) + [True]
    assert sent.message_id == session_of(bot).ids.remember(parts[-1].mid)
    assert "".join(strip_tags(p.text).replace("\n", "") for p in parts) == strip_tags(
        to_max_html(text)
    ).replace("\n", "")
    assert max_api.refused() == []


def test_split_html_keeps_every_part_balanced() -> None:
    text = "<b>" + " ".join(["слово"] * 300) + "</b> " + "x" * 250 + ' <a href="https://e.org/a b">ссылка</a>'
    parts = split_html(text, 200)
    assert len(parts) > 5 and all(len(p) <= 200 for p in parts)
    assert all(html_errors(p) == [] for p in parts)
    assert parts[0].startswith("<b>") and parts[1].startswith("<b>")
    assert parts[-1].endswith('<a href="https://e.org/a b">ссылка</a>')


async def test_quotes_and_spoilers_reach_max_as_text(bot: Bot, max_api: FakeMaxAPI) -> None:
    max_api.user(PARENT)  # the stand-in is strict: a tag MAX would strip is refused
    await bot.send_message(
        CHAT,
        "Вопрос:<blockquote>Где <b>кружок</b>?</blockquote>Ответ: <tg-spoiler>тайна</tg-spoiler>, "
        '<span class="tg-spoiler">секрет</span>, <strike>старое</strike>',
    )
    assert max_api.refused() == []
    assert max_api.last(PARENT).text == ("Вопрос:\nГде <b>кружок</b>?\nОтвет: тайна, секрет, <s>старое</s>")


async def test_edit_markup_and_delete(bot: Bot, max_api: FakeMaxAPI) -> None:
    max_api.user(PARENT)
    sent = await bot.send_message(CHAT, "Выберите", reply_markup=markup([cb("Да", "yes")]))
    mid = max_api.last(PARENT).mid
    edited = await sent.edit_text("<i>Готово</i>")
    assert isinstance(edited, Message) and edited.message_id == sent.message_id
    # as in Telegram, an edit that does not repeat the keyboard removes it
    assert max_api.messages[mid].text == "<i>Готово</i>" and max_api.messages[mid].keyboard == []
    await bot.edit_message_reply_markup(
        chat_id=CHAT, message_id=sent.message_id, reply_markup=markup([cb("Ок", "ok")])
    )
    assert max_api.messages[mid].text == "<i>Готово</i>"
    assert max_api.buttons(PARENT) == [["Ок"]]
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=CHAT, message_id=12345)
    assert await sent.delete() is True
    assert mid not in max_api.messages


async def test_callback_answer_with_text_and_without(bot: Bot, max_api: FakeMaxAPI) -> None:
    max_api.user(PARENT)
    await bot.send_message(CHAT, "Выберите", reply_markup=markup([cb("Да", "yes")]))
    callback_id = max_api.press(PARENT, max_api.last(PARENT), "yes")
    before = len(max_api.received)
    assert await bot.answer_callback_query(callback_id) is True
    assert len(max_api.received) == before  # MAX refuses an empty answer: no request at all
    await bot.answer_callback_query(callback_id, text="Принято")
    assert max_api.answers[-1]["notification"] == "Принято"
    assert len(max_api.requests("POST /answers")) == 1 and max_api.refused() == []


# --- files --------------------------------------------------------------------------------------

ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


async def test_document_upload_waits_while_max_processes_it(bot: Bot, max_api: FakeMaxAPI) -> None:
    max_api.user(PARENT)
    max_api.attachment_ready_after = 0.25
    sent = await bot.send_document(CHAT, BufferedInputFile(ICS, "event-7.ics"), caption="<b>Календарь</b>")
    stored = max_api.last(PARENT)
    [file] = stored.files
    assert file["filename"] == "event-7.ics"  # not event-7.ics.ics (maxapi's renaming)
    assert max_api.uploaded(file["payload"]["token"]) == ICS
    assert stored.text == "<b>Календарь</b>"
    not_ready = [r for r in max_api.refused() if r.error and r.error.startswith("attachment.not.ready")]
    assert not_ready and len(max_api.refused()) == len(not_ready)
    assert sent.document is not None and sent.document.file_id.startswith("max:file:")
    assert sent.caption == "Календарь"

    # Names MAX would lose through maxapi's sniffing keep their extension.
    await bot.send_document(CHAT, BufferedInputFile(b"a;b\n1;2\n", "report.csv"))
    assert max_api.last(PARENT).files[0]["filename"] == "report.csv"


async def test_photo_upload_once_then_its_file_id(bot: Bot, max_api: FakeMaxAPI) -> None:
    max_api.user(PARENT)
    first = await bot.send_photo(CHAT, BufferedInputFile(b"\x89PNG fake", "photo.jpg"), caption="Афиша")
    assert first.photo is not None
    await bot.send_photo(CHAT, first.photo[-1].file_id, caption="Афиша")
    assert len(max_api.requests("POST /uploads")) == 1
    assert [m.attachments[0]["type"] for m in max_api.sent(PARENT)] == ["image", "image"]
    with pytest.raises(TelegramBadRequest, match="Telegram file_id"):
        await bot.send_photo(CHAT, "AgACAgIAAxkBAAIB-telegram-file-id")


async def test_file_with_keyboard_together_or_after(bot: Bot, max_api: FakeMaxAPI) -> None:
    max_api.user(PARENT)
    keys = markup([cb("Записаться", "signup")])
    await bot.send_document(CHAT, BufferedInputFile(ICS, "a.ics"), caption="Файл", reply_markup=keys)
    assert max_api.last(PARENT).files and max_api.buttons(PARENT) == [["Записаться"]]

    # A MAX that refuses the pair: the file, then the text with the keyboard in its own message.
    max_api.file_with_keyboard = False
    sent = await bot.send_document(CHAT, BufferedInputFile(ICS, "b.ics"), caption="Файл", reply_markup=keys)
    *_, file_message, keyboard_message = max_api.sent(PARENT)
    assert file_message.files and not file_message.keyboard
    assert keyboard_message.text == "Файл" and keyboard_message.keyboard
    assert sent.document is not None
    assert session_of(bot).file_keyboard_together is False
    await bot.send_document(CHAT, BufferedInputFile(ICS, "c.ics"), caption="Ещё", reply_markup=keys)
    assert len([r for r in max_api.refused() if "only attachment" in (r.error or "")]) == 1


async def test_a_long_caption_goes_first_and_the_file_with_its_last_part(
    bot: Bot, max_api: FakeMaxAPI
) -> None:
    max_api.user(PARENT)
    caption = "\n".join(f"<b>{i}</b> строка описания события" for i in range(250))
    sent = await bot.send_document(
        CHAT, BufferedInputFile(ICS, "e.ics"), caption=caption, reply_markup=markup([cb("Да", "y")])
    )
    *texts, last = max_api.sent(PARENT)
    assert texts and all(not m.files and not m.keyboard for m in texts)
    assert last.files and last.keyboard and sent.document is not None
    assert max_api.refused() == []


async def test_no_markup_and_a_removed_reply_keyboard_send_no_keyboard(bot: Bot, max_api: FakeMaxAPI) -> None:
    max_api.user(PARENT)
    await bot.send_message(CHAT, "Данные удалены", reply_markup=ReplyKeyboardRemove())
    await bot.send_message(CHAT, "Просто текст")
    assert [m.attachments for m in max_api.sent(PARENT)] == [[], []]


async def test_a_parents_file_downloads_through_the_session(bot: Bot, max_api: FakeMaxAPI) -> None:
    inbound = MaxInbound(bot=bot)
    max_api.user_file(PARENT, "list.xlsx", b"PK fake xlsx", text="вот")
    answer = await session_of(bot).call(None, "GET", "/updates", params={"timeout": 0})  # type: ignore[arg-type]
    update = inbound.translate(answer["updates"][0])
    assert update is not None and update.message is not None and update.message.document is not None
    assert update.message.caption == "вот" and update.message.document.file_name == "list.xlsx"
    data = await bot.download(update.message.document)
    assert data is not None and data.read() == b"PK fake xlsx"


# --- errors -------------------------------------------------------------------------------------


async def test_429_pauses_the_sender_and_the_message_goes_once(max_api: FakeMaxAPI) -> None:
    sender = SenderMiddleware(LocalSendLimiter(rate=100), count_all_requests=True)
    bot = await create_max_bot(TOKEN, max_api.base_url, sender_middleware=sender)
    try:
        max_api.user(PARENT)
        max_api.inject(429, "too.many.requests", endpoint="POST /messages")
        started = time.monotonic()
        await bot.send_message(CHAT, "Рассылка")
        assert time.monotonic() - started >= 0.95  # MAX sends no Retry-After: one second
        assert [m.text for m in max_api.sent(PARENT)] == ["Рассылка"] and sender.retries == 1
    finally:
        await sender.limiter.close()
        await bot.session.close()


async def test_errors_become_aiogram_exceptions(bot: Bot, max_api: FakeMaxAPI) -> None:
    max_api.user(PARENT)
    max_api.inject(502, "internal.error", endpoint="POST /messages")
    with pytest.raises(TelegramServerError):
        await bot.send_message(CHAT, "x")
    assert len(max_api.requests("POST /messages")) == 1  # maxapi does not retry on its own

    max_api.inject(400, "proto.payload", "something odd", endpoint="POST /messages")
    with pytest.raises(TelegramBadRequest, match=r"proto\.payload: something odd"):
        await bot.send_message(CHAT, "x")

    max_api.bot_stopped(PARENT)
    with pytest.raises(TelegramForbiddenError, match=r"chat\.denied"):
        await bot.send_message(CHAT, "x")

    # A person with no dialog: what Telegram says for a chat it cannot reach (the workers'
    # "chat not found" marks the person inactive).
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(internal_id(Channel.MAX, 777), "x")

    with pytest.raises(ForeignIdError):  # a Telegram chat sent to the MAX bot: a bug, loudly
        await bot.send_message(123456, "x")
    with pytest.raises(UnsupportedMethod, match="sendLocation"):
        await bot.send_location(CHAT, latitude=1.0, longitude=2.0)

    await max_api.stop()
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(CHAT, "x")


async def test_commands_and_chat_actions(bot: Bot, max_api: FakeMaxAPI) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Начать")])
    assert max_api.commands == [{"name": "start", "description": "Начать"}]
    before = len(max_api.received)
    await bot.set_my_commands(
        [BotCommand(command="staff", description="x")], scope=BotCommandScopeChat(chat_id=-1)
    )
    assert len(max_api.received) == before  # a chat scope is Telegram's alone

    assert await bot.send_chat_action(CHAT, "typing") is True  # the dialog is unknown yet: no request
    assert max_api.requests("POST /chats/{id}/actions") == []
    inbound = MaxInbound(bot=bot)
    max_api.bot_started(PARENT)
    answer = await session_of(bot).call(None, "GET", "/updates", params={"timeout": 0})  # type: ignore[arg-type]
    inbound.translate(answer["updates"][0])
    await bot.send_chat_action(CHAT, "typing")
    [action] = max_api.requests("POST /chats/{id}/actions")
    assert action.path == f"/chats/{max_api.dialog_of(PARENT)}/actions"


async def test_the_token_never_shows(max_api: FakeMaxAPI, caplog: pytest.LogCaptureFixture) -> None:
    bot = await create_max_bot(TOKEN, max_api.base_url)
    dp = Dispatcher()
    polling = MaxPolling(bot, dp, timeout=0, backoff=(0.05,))
    try:
        with caplog.at_level(logging.DEBUG):
            max_api.inject(500, "internal.error", endpoint="GET /updates")
            max_api.inject(401, "verify.token", endpoint="GET /me")
            await polling.start()
            await asyncio.sleep(0.3)
            with pytest.raises(Exception) as refused:
                await bot.get_me()
            max_api.user(PARENT)
            await bot.send_message(CHAT, "ok")
        assert "MAX long polling failed" in caplog.text
        assert TOKEN not in caplog.text and TOKEN not in str(refused.value)
        assert TOKEN not in repr(bot.session) and TOKEN not in repr(bot) and TOKEN not in str(bot.token)
    finally:
        await polling.stop()
        await bot.session.close()


# --- inbound ------------------------------------------------------------------------------------


async def test_every_update_type_is_translated_with_internal_ids(bot: Bot, max_api: FakeMaxAPI) -> None:
    stopped: list[int] = []
    inbound = MaxInbound(bot=bot, on_stopped=stopped.append)
    max_api.bot_started(PARENT, payload="event-12")
    max_api.user_message(PARENT, "Привет")
    sent = await bot.send_message(CHAT, "Выберите", reply_markup=markup([cb("Да", "yes")]))
    callback_id = max_api.press(PARENT, max_api.last(PARENT), "yes")
    max_api.bot_stopped(PARENT)
    answer = await session_of(bot).call(None, "GET", "/updates", params={"timeout": 0})  # type: ignore[arg-type]
    raws = answer["updates"]
    updates = [await inbound.process(raw) for raw in raws]
    started, text, press, gone = updates
    assert started is not None and started.message is not None and started.message.text == "/start event-12"
    assert text is not None and text.message is not None and text.message.text == "Привет"
    for update in (started, text):
        assert update.message is not None and update.message.from_user is not None
        assert update.message.from_user.id == CHAT and update.message.chat.id == CHAT
        assert update.message.chat.type == "private" and update.message.from_user.language_code == "ru"
    assert press is not None and press.callback_query is not None
    query = press.callback_query
    assert (query.id, query.data, query.from_user.id) == (callback_id, "yes", CHAT)
    assert isinstance(query.message, Message) and query.message.message_id == sent.message_id
    assert query.message.text == "Выберите" and query.message.reply_markup is not None
    assert gone is None and stopped == [CHAT]
    ids = [u.update_id for u in (started, text, press)]  # type: ignore[union-attr]
    assert ids == sorted(ids) and len(set(ids)) == 3

    assert inbound.translate({"update_type": "message_edited", "timestamp": 1}) is None
    foreign = {"update_type": "bot_started", "timestamp": 1, "chat_id": 1, "user": {"user_id": 2**62}}
    assert inbound.translate(foreign) is None


async def test_polling_skips_unknown_updates_and_the_marker_advances(bot: Bot, max_api: FakeMaxAPI) -> None:
    seen: list[str] = []
    router = Router()

    @router.message()
    async def any_message(message: Message) -> None:
        seen.append(message.text or "")

    dp = Dispatcher()
    dp.include_router(router)
    polling = MaxPolling(bot, dp, timeout=0)
    max_api._push({"update_type": "message_chat_created", "timestamp": 1})  # not translated
    max_api.user_message(PARENT, "первое")
    assert await polling.poll_once() == 2
    await polling.idle()
    assert seen == ["первое"]
    marker = polling.marker
    max_api.user_message(PARENT, "второе")
    assert await polling.poll_once() == 1  # the unknown one is not delivered again
    await polling.idle()
    assert seen == ["первое", "второе"] and polling.marker is not None and marker is not None
    assert polling.marker > marker


async def test_webhook_checks_the_secret(bot: Bot, max_api: FakeMaxAPI) -> None:
    fed: list[str] = []
    router = Router()

    @router.message()
    async def any_message(message: Message) -> None:
        fed.append(message.text or "")

    dp = Dispatcher()
    dp.include_router(router)
    app = web.Application()
    app.router.add_post("/max", max_webhook_handler(bot, dp, secret="s3cret-value"))
    update = {
        "update_type": "message_created",
        "timestamp": 1_700_000_000_000,
        "message": {
            "sender": {"user_id": PARENT, "first_name": "Анна", "is_bot": False},
            "recipient": {"chat_id": 900, "chat_type": "dialog"},
            "timestamp": 1_700_000_000_000,
            "body": {"mid": "mid.webhook.1", "seq": 1, "text": "через вебхук"},
        },
    }
    async with TestClient(TestServer(app)) as client:
        wrong = await client.post("/max", json=update, headers={SECRET_HEADER: "guess"})
        missing = await client.post("/max", json=update)
        assert (wrong.status, missing.status) == (401, 401)
        ok = await client.post("/max", json=update, headers={SECRET_HEADER: "s3cret-value"})
        assert ok.status == 200
        for _ in range(50):
            if fed:
                break
            await asyncio.sleep(0.02)
    assert fed == ["через вебхук"]

    await subscribe_max_webhook(bot, "https://bot.example.org/max", secret="s3cret-value")
    [subscription] = max_api.subscriptions
    assert subscription["url"] == "https://bot.example.org/max"
    assert max_api.requests("POST /subscriptions")[0].body["secret"] == "s3cret-value"
    await bot.delete_webhook()
    assert max_api.subscriptions == []


# --- the dispatcher, end to end -----------------------------------------------------------------


def tiny_router(seen: list[tuple[int, int, str]]) -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        assert message.from_user is not None
        seen.append((message.from_user.id, message.chat.id, command.args or ""))
        await message.answer(
            "<b>Здравствуйте!</b> Чем помочь?",
            reply_markup=markup([cb("Частые вопросы", "faq:menu")], [link("navigator")]),
        )

    @router.callback_query(F.data == "faq:menu")
    async def faq(query: CallbackQuery) -> None:
        await query.answer("Открываю вопросы")
        assert isinstance(query.message, Message)
        await query.message.edit_text(
            "Частые вопросы: <i>выберите тему</i>", reply_markup=markup([cb("Назад", "back")])
        )

    @router.callback_query(F.data == "back")
    async def back(query: CallbackQuery) -> None:
        await query.answer()  # nothing to say: no request

    return router


async def test_an_aiogram_dispatcher_serves_a_max_parent(max_api: FakeMaxAPI) -> None:
    sender = SenderMiddleware(LocalSendLimiter(rate=28), count_all_requests=True)
    bot = await create_max_bot(TOKEN, max_api.base_url, sender_middleware=sender)
    seen: list[tuple[int, int, str]] = []
    dp = Dispatcher()
    dp.include_router(tiny_router(seen))
    polling = MaxPolling(bot, dp, timeout=1)
    await polling.start()
    try:
        max_api.bot_started(PARENT, payload="qr-poster")
        await max_api.wait_for(lambda: max_api.sent(PARENT))
        reply = max_api.last(PARENT)
        assert seen == [(CHAT, CHAT, "qr-poster")]
        assert reply.text == "<b>Здравствуйте!</b> Чем помочь?" and reply.format == "html"
        assert [[b["type"] for b in row] for row in reply.keyboard] == [["callback"], ["link"]]

        max_api.press(PARENT, reply, text="Частые вопросы")
        await max_api.wait_for(lambda: max_api.messages[reply.mid].edits == 1)
        assert max_api.answers[-1]["notification"] == "Открываю вопросы"
        assert max_api.messages[reply.mid].text == "Частые вопросы: <i>выберите тему</i>"
        assert max_api.buttons(PARENT) == [["Назад"]]

        answers = len(max_api.requests("POST /answers"))
        max_api.press(PARENT, reply, text="Назад")
        await asyncio.sleep(0.3)
        await polling.idle()
        assert len(max_api.requests("POST /answers")) == answers
    finally:
        await polling.stop()
        await sender.limiter.close()
        await bot.session.close()
    assert max_api.refused() == []
