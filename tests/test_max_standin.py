"""The MAX Bot API stand-in refuses what MAX refuses, and MAX clients run against it.

Three groups:

1. The stand-in itself over plain HTTP (aiohttp only, runs everywhere): the limits of
   `bot/local_max_api.py`, each on both sides of the line.
2. The chosen client, `maxapi` (docs/max-channel.md says why; a project dependency, the
   HTTP client under bot/channels/max/), driving a parent's round trip: a /start-like
   message, an inline keyboard, a button press answered, an edit, a document through the
   upload flow, and the refusals and quirks the adapter absorbs.
3. `aiogram-max` (runs an aiogram dispatcher against MAX by swapping the bot session),
   kept as evidence for the verdict: it needs Python >= 3.12 (the project runs 3.11), so
   it skips here; in a 3.12 venv with `pip install aiogram==3.31.0 aiogram-max pytest
   pytest-asyncio`, `PYTHONPATH=. python -m pytest tests/test_max_standin.py --noconftest`
   runs it. The round trip passes; the
   tests pin down what would break in this bot (a message to a person by their user id,
   MAX errors outside aiogram's exception types).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.local_max_api import (
    BOT_ID,
    CALLBACK_PAYLOAD_LIMIT,
    TEXT_LIMIT,
    FakeMaxAPI,
)

PARENT = 5_550_001  # a MAX user id
OTHER_PARENT = 5_550_002


@pytest.fixture
async def max_api() -> AsyncIterator[FakeMaxAPI]:
    async with FakeMaxAPI(long_poll_cap=0.2) as api:
        yield api


async def call(
    api: FakeMaxAPI,
    verb: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    json: Any = None,
    token: str | None = None,
) -> tuple[int, Any]:
    headers = {"Authorization": api.token if token is None else token}
    async with (
        aiohttp.ClientSession() as http,
        http.request(verb, api.base_url + path, params=params, json=json, headers=headers) as response,
    ):
        return response.status, await response.json()


def keyboard(*rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "inline_keyboard", "payload": {"buttons": list(rows)}}


def callback(text: str, payload: str) -> dict[str, Any]:
    return {"type": "callback", "text": text, "payload": payload}


def link(text: str, url: str = "https://example.org") -> dict[str, Any]:
    return {"type": "link", "text": text, "url": url}


async def send(api: FakeMaxAPI, body: dict[str, Any], user_id: int = PARENT) -> tuple[int, Any]:
    return await call(api, "POST", "/messages", params={"user_id": user_id}, json=body)


# --- 1. the stand-in refuses what MAX refuses -------------------------------------------


async def test_text_limit_is_4000_characters(max_api: FakeMaxAPI) -> None:
    max_api.user(PARENT)
    status, _ = await send(max_api, {"text": "я" * TEXT_LIMIT})
    assert status == 200
    status, body = await send(max_api, {"text": "я" * (TEXT_LIMIT + 1)})
    assert status == 400
    assert body["code"] == "proto.payload" and "4001 characters" in body["message"]
    assert len(max_api.sent(PARENT)) == 1


async def test_keyboard_rows_and_width(max_api: FakeMaxAPI) -> None:
    max_api.user(PARENT)
    full = [[callback(f"{r}.{c}", f"k:{r}:{c}") for c in range(7)] for r in range(30)]
    assert (await send(max_api, {"text": "210 кнопок", "attachments": [keyboard(*full)]}))[0] == 200

    eight = [callback(str(c), f"k:{c}") for c in range(8)]
    status, body = await send(max_api, {"text": "широко", "attachments": [keyboard(eight)]})
    assert (status, body["code"]) == (400, "proto.payload")
    assert "8 buttons, at most 7" in body["message"]

    thirty_one = [[callback(str(r), f"r:{r}")] for r in range(31)]
    status, body = await send(max_api, {"text": "длинно", "attachments": [keyboard(*thirty_one)]})
    assert status == 400 and "31 rows" in body["message"]

    # A row with a link button holds at most three.
    links = [link("a"), callback("b", "b"), callback("c", "c"), callback("d", "d")]
    status, body = await send(max_api, {"text": "ссылки", "attachments": [keyboard(links)]})
    assert status == 400 and "at most 3" in body["message"]
    assert (await send(max_api, {"text": "ок", "attachments": [keyboard(links[:3])]}))[0] == 200


async def test_button_fields(max_api: FakeMaxAPI) -> None:
    max_api.user(PARENT)
    ok = "p" * CALLBACK_PAYLOAD_LIMIT
    assert (await send(max_api, {"text": "x", "attachments": [keyboard([callback("ok", ok)])]}))[0] == 200
    for button, reason in (
        (callback("long", ok + "p"), "1025 characters"),
        (callback("я" * 129, "p"), "button text"),
        ({"type": "callback", "text": "no payload"}, "needs a payload"),
        ({"type": "web_app", "text": "tg only", "url": "https://x"}, "unknown button type"),
        ({"type": "link", "text": "no url"}, "needs a url"),
    ):
        status, body = await send(max_api, {"text": "x", "attachments": [keyboard([button])]})
        assert status == 400 and reason in body["message"], (button, body)


async def test_formats_and_html(max_api: FakeMaxAPI) -> None:
    max_api.user(PARENT)
    status, body = await send(max_api, {"text": "*x*", "format": "MarkdownV2"})
    assert status == 400 and "unknown format" in body["message"]
    assert (
        await send(
            max_api, {"text": "<b>жирный</b> <u>и</u> <a href='https://x'>ссылка</a>", "format": "html"}
        )
    )[0] == 200
    # Telegram's quote and spoiler: MAX strips them; the strict stand-in refuses instead.
    status, body = await send(max_api, {"text": "<blockquote>цитата</blockquote>", "format": "html"})
    assert status == 400 and "<blockquote>" in body["message"]
    status, body = await send(max_api, {"text": "<b>не закрыт", "format": "html"})
    assert status == 400 and "unclosed" in body["message"]
    max_api.html_strict = False
    assert (await send(max_api, {"text": "<tg-spoiler>тсс</tg-spoiler>", "format": "html"}))[0] == 200
    assert max_api.stripped_tags == ["tg-spoiler"]
    assert max_api.last(PARENT).text == "тсс"


async def test_thirty_requests_per_second(max_api: FakeMaxAPI) -> None:
    max_api.user(PARENT)
    max_api.rate_limit = 30
    statuses = [(await call(max_api, "GET", "/me"))[0] for _ in range(31)]
    assert statuses[:30] == [200] * 30
    assert statuses[30] == 429
    assert max_api.received[-1].error == "too.many.requests: Too many requests"


async def test_two_messages_per_second_into_one_dialog(max_api: FakeMaxAPI) -> None:
    max_api.user(PARENT)
    max_api.user(OTHER_PARENT)
    max_api.per_chat_rate = 2
    assert [(await send(max_api, {"text": str(i)}))[0] for i in range(3)] == [200, 200, 429]
    assert (await send(max_api, {"text": "другому"}, OTHER_PARENT))[0] == 200


async def test_token_goes_in_the_header(max_api: FakeMaxAPI) -> None:
    status, body = await call(max_api, "GET", "/me", params={"access_token": max_api.token}, token="")
    assert (status, body["code"]) == (401, "verify.token")
    assert (await call(max_api, "GET", "/me", token="wrong"))[0] == 401
    status, me = await call(max_api, "GET", "/me")
    assert status == 200 and me["user_id"] == BOT_ID and me["is_bot"] is True


async def test_a_dialog_is_not_addressed_by_the_user_id(max_api: FakeMaxAPI) -> None:
    dialog = max_api.dialog_of(PARENT)
    assert dialog != PARENT
    status, body = await call(max_api, "POST", "/messages", params={"chat_id": PARENT}, json={"text": "x"})
    assert (status, body["code"]) == (404, "chat.not.found")
    status, body = await call(max_api, "POST", "/messages", params={"chat_id": dialog}, json={"text": "ок"})
    assert status == 200
    assert body["message"]["recipient"] == {"chat_id": dialog, "chat_type": "dialog", "user_id": PARENT}
    assert isinstance(body["message"]["body"]["mid"], str) and body["message"]["body"]["seq"] > 2**53
    max_api.bot_stopped(PARENT)
    assert (await send(max_api, {"text": "после остановки"}))[0] == 403


async def test_callback_answers_and_edits(max_api: FakeMaxAPI) -> None:
    max_api.user(PARENT)
    _, sent = await send(max_api, {"text": "Выберите", "attachments": [keyboard([callback("Да", "yes")])]})
    mid = sent["message"]["body"]["mid"]
    with pytest.raises(ValueError, match="no callback button"):
        max_api.press(PARENT, mid, "no")  # a person presses only what they see
    callback_id = max_api.press(PARENT, mid, text="Да")
    status, body = await call(max_api, "POST", "/answers", params={"callback_id": callback_id}, json={})
    assert status == 400 and "`message` or `notification` required" in body["message"]
    status, _ = await call(
        max_api,
        "POST",
        "/answers",
        params={"callback_id": callback_id},
        json={"notification": "Принято", "message": {"text": "Вы выбрали «Да»", "attachments": []}},
    )
    assert status == 200
    assert max_api.messages[mid].text == "Вы выбрали «Да»" and max_api.messages[mid].keyboard == []
    status, _ = await call(max_api, "PUT", "/messages", params={"message_id": mid}, json={"text": "y" * 4001})
    assert status == 400
    status, _ = await call(max_api, "PUT", "/messages", params={"message_id": mid}, json={"text": "Снова"})
    assert status == 200 and max_api.messages[mid].edits == 2


async def test_upload_flow(max_api: FakeMaxAPI) -> None:
    max_api.user(PARENT)
    max_api.attachment_ready_after = 0.3
    status, body = await call(max_api, "POST", "/uploads", params={"type": "photo"})
    assert status == 400 and "type=image" in body["message"]
    _, endpoint = await call(max_api, "POST", "/uploads", params={"type": "file"})
    form = aiohttp.FormData()
    form.add_field("data", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", filename="event.ics")
    async with aiohttp.ClientSession() as http, http.post(endpoint["url"], data=form) as response:
        token = (await response.json())["token"]
    attachment = {"type": "file", "payload": {"token": token}}
    status, body = await send(max_api, {"text": "Календарь", "attachments": [attachment]})
    assert (status, body["code"]) == (400, "attachment.not.ready")
    await asyncio.sleep(0.35)
    status, body = await send(max_api, {"text": "Календарь", "attachments": [attachment]})
    assert status == 200
    [stored] = max_api.last(PARENT).files
    assert (
        stored["filename"] == "event.ics"
        and max_api.uploaded(token) == b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    )
    status, body = await send(
        max_api, {"text": "x", "attachments": [{"type": "file", "payload": {"token": "nope"}}]}
    )
    assert (status, body["code"]) == (400, "attachment.token.invalid")


async def test_long_polling_marker(max_api: FakeMaxAPI) -> None:
    max_api.bot_started(PARENT)
    max_api.user_message(PARENT, "/start")
    _, first = await call(max_api, "GET", "/updates", params={"timeout": 0})
    assert [u["update_type"] for u in first["updates"]] == ["bot_started", "message_created"]
    _, again = await call(max_api, "GET", "/updates", params={"timeout": 0})
    assert len(again["updates"]) == 2  # nothing is read until a marker says so
    _, empty = await call(max_api, "GET", "/updates", params={"timeout": 0, "marker": first["marker"]})
    assert empty["updates"] == [] and empty["marker"] == first["marker"]
    status, body = await call(max_api, "GET", "/updates", params={"timeout": 91})
    assert status == 400 and "timeout" in body["message"]
    message = first["updates"][1]["message"]
    assert message["sender"]["user_id"] == PARENT
    assert message["recipient"]["user_id"] == BOT_ID  # the recipient, not the other person


# --- 2. the chosen client: maxapi -----------------------------------------------------


@contextlib.asynccontextmanager
async def maxapi_bot(api: FakeMaxAPI) -> AsyncIterator[Any]:
    from maxapi import Bot

    bot = Bot(api.token)
    bot.set_api_url(api.base_url)
    try:
        yield bot
    finally:
        await bot.close_session()


async def test_maxapi_round_trip(max_api: FakeMaxAPI) -> None:
    from maxapi.enums.parse_mode import TextFormat
    from maxapi.enums.upload_type import UploadType
    from maxapi.types.attachments.buttons import CallbackButton, LinkButton
    from maxapi.types.input_media import InputMediaBuffer
    from maxapi.types.updates.message_callback import MessageForCallback
    from maxapi.utils.inline_keyboard import InlineKeyboardBuilder

    async with maxapi_bot(max_api) as bot:
        me = await bot.get_me()
        assert me.user_id == BOT_ID

        # A parent opens the bot and writes /start.
        max_api.bot_started(PARENT)
        max_api.user_message(PARENT, "/start")
        batch = await bot.get_updates(timeout=0)
        created = next(u for u in batch["updates"] if u["update_type"] == "message_created")
        assert created["message"]["body"]["text"] == "/start"
        user_id = created["message"]["sender"]["user_id"]
        chat_id = created["message"]["recipient"]["chat_id"]
        assert (user_id, chat_id) == (PARENT, max_api.dialog_of(PARENT))

        # The reply: HTML text and an inline keyboard with a callback and a link button.
        builder = InlineKeyboardBuilder()
        builder.row(CallbackButton(text="Частые вопросы", payload="faq:menu"))
        builder.row(LinkButton(text="Навигатор", url="https://р38.навигатор.дети"))
        sent = await bot.send_message(
            user_id=user_id,
            text="<b>Здравствуйте!</b> Чем помочь?",
            format=TextFormat.HTML,
            attachments=[builder.as_markup()],
        )
        mid = sent.message.body.mid
        stored = max_api.messages[mid]
        assert stored.format == "html"
        assert [[b["type"] for b in row] for row in stored.keyboard] == [["callback"], ["link"]]

        # The parent presses the button; the bot answers the press and edits the message.
        max_api.press(PARENT, mid, text="Частые вопросы")
        batch = await bot.get_updates(timeout=0, marker=batch["marker"])
        [pressed] = batch["updates"]
        assert pressed["update_type"] == "message_callback"
        assert pressed["callback"]["payload"] == "faq:menu"
        await bot.send_callback(
            callback_id=pressed["callback"]["callback_id"],
            notification="Открываю вопросы",
            message=MessageForCallback(text="Частые вопросы: выберите тему", attachments=[]),
        )
        assert max_api.messages[mid].text == "Частые вопросы: выберите тему"
        assert max_api.answers[-1]["notification"] == "Открываю вопросы"
        await bot.edit_message(message_id=mid, text="<i>Вопросы обновлены</i>", format=TextFormat.HTML)
        assert max_api.messages[mid].edits == 2

        # A document (the event's calendar file) through POST /uploads → upload → token.
        # maxapi appends the extension it sniffs from the bytes to a buffer's name
        # ("x.ics" would become "x.ics.ics"): the adapter passes the name without it.
        ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
        upload = await bot.upload_media(
            InputMediaBuffer(ics, filename="den-otkrytyh-dverej", type=UploadType.FILE)
        )
        await bot.send_message(user_id=user_id, text="Добавьте в календарь", attachments=[upload])
        [file] = max_api.last(PARENT).files
        assert file["filename"] == "den-otkrytyh-dverej.ics"
        assert max_api.uploaded(file["payload"]["token"]) == ics

    assert max_api.refused() == []


async def test_maxapi_sees_the_refusals(max_api: FakeMaxAPI) -> None:
    from maxapi.exceptions.max import MaxApiError
    from maxapi.types.attachments.buttons import CallbackButton
    from maxapi.types.updates.message_callback import MessageForCallback
    from maxapi.utils.inline_keyboard import InlineKeyboardBuilder

    max_api.user(PARENT)
    async with maxapi_bot(max_api) as bot:
        # maxapi checks the length itself, one character short: MAX takes 4,000 (the
        # schema's maxLength), maxapi refuses it. The renderer must cut at 3,999 for it.
        with pytest.raises(ValueError, match="4000"):
            await bot.send_message(user_id=PARENT, text="я" * TEXT_LIMIT)
        await bot.send_message(user_id=PARENT, text="я" * (TEXT_LIMIT - 1))

        # A callback answer's new text is not checked by maxapi: the stand-in refuses it.
        sent = await bot.send_message(
            user_id=PARENT,
            text="Выберите",
            attachments=[InlineKeyboardBuilder().row(CallbackButton(text="Да", payload="yes")).as_markup()],
        )
        callback_id = max_api.press(PARENT, sent.message.body.mid, "yes")
        with pytest.raises(MaxApiError) as too_long:
            await bot.send_callback(
                callback_id=callback_id, message=MessageForCallback(text="я" * (TEXT_LIMIT + 1))
            )
        assert too_long.value.code == 400
        assert "4001 characters" in str(too_long.value.raw)

        wide = InlineKeyboardBuilder()
        wide.row(*[CallbackButton(text=str(i), payload=f"d:{i}") for i in range(8)])
        with pytest.raises(MaxApiError) as too_wide:
            await bot.send_message(user_id=PARENT, text="Выберите день", attachments=[wide.as_markup()])
        assert too_wide.value.code == 400
        assert "at most 7" in str(too_wide.value.raw)

        max_api.inject(429, "too.many.requests", endpoint="POST /messages")
        with pytest.raises(MaxApiError) as limited:
            await bot.send_message(user_id=PARENT, text="рассылка")
        assert limited.value.code == 429  # no retry of its own: the sender's limiter must pace it
    assert [m.text[:8] for m in max_api.sent(PARENT)] == ["я" * 8, "Выберите"]


# --- 3. aiogram-max: the evidence behind the verdict --------------------------------------

HAS_AIOGRAM_MAX = sys.version_info >= (3, 12) and importlib.util.find_spec("aiogram_max") is not None
needs_aiogram_max = pytest.mark.skipif(
    not HAS_AIOGRAM_MAX,
    reason="aiogram-max requires Python >= 3.12 (every release since 1.1.1) and the project runs 3.11; "
    "kept as evidence for docs/max-channel.md, run it in a 3.12 venv",
)


SEEN: list[tuple[int, int]] = []  # (from_user.id, chat.id) of every /start the tiny bot saw


def tiny_dispatcher() -> Any:
    from aiogram import F, Router
    from aiogram.filters import Command, CommandStart
    from aiogram.types import (
        BufferedInputFile,
        CallbackQuery,
        InlineKeyboardButton,
        InlineKeyboardMarkup,
        Message,
    )

    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        assert message.from_user is not None
        SEEN.append((message.from_user.id, message.chat.id))
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="Частые вопросы", callback_data="faq:menu")],
                [InlineKeyboardButton(text="Навигатор", url="https://example.org/navigator")],
            ]
        )
        await message.answer("<b>Здравствуйте!</b> Чем помочь?", reply_markup=markup)

    @router.callback_query(F.data == "faq:menu")
    async def faq(callback: CallbackQuery) -> None:
        await callback.answer("Открываю вопросы")
        assert isinstance(callback.message, Message)
        await callback.message.edit_text("Частые вопросы: выберите тему")

    @router.message(Command("ics"))
    async def ics(message: Message) -> None:
        data = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
        await message.answer_document(BufferedInputFile(data, "event.ics"), caption="Добавьте в календарь")

    from aiogram import Dispatcher

    dp = Dispatcher()
    dp.include_router(router)
    return dp


async def feed_pending(bot: Any, dp: Any, offset: int | None) -> int | None:
    """One polling round, as aiogram's start_polling does it."""
    for update in await bot.get_updates(offset=offset, timeout=0):
        await dp.feed_update(bot, update)
        offset = update.update_id + 1
    return offset


@needs_aiogram_max
async def test_aiogram_max_round_trip(max_api: FakeMaxAPI) -> None:
    from aiogram.client.default import DefaultBotProperties
    from aiogram_max import make_bot  # type: ignore[import-not-found]

    bot = make_bot(
        max_api.token,
        bot_id=BOT_ID,
        api_url=max_api.base_url,
        default=DefaultBotProperties(parse_mode="HTML"),
    )
    dp = tiny_dispatcher()
    try:
        max_api.user_message(PARENT, "/start")
        offset = await feed_pending(bot, dp, None)
        reply = max_api.last(PARENT)
        # The person is MAX's raw user id (the same integer space as Telegram's ids), and
        # a private chat's id is not the person's id, unlike Telegram.
        assert SEEN[-1] == (PARENT, max_api.dialog_of(PARENT))
        assert reply.format == "html"
        assert [[b["type"] for b in row] for row in reply.keyboard] == [["callback"], ["link"]]

        max_api.press(PARENT, reply, text="Частые вопросы")
        offset = await feed_pending(bot, dp, offset)
        assert max_api.answers[-1]["notification"] == "Открываю вопросы"
        assert max_api.messages[reply.mid].text == "Частые вопросы: выберите тему"

        max_api.user_message(PARENT, "/ics")
        await feed_pending(bot, dp, offset)
        [file] = max_api.last(PARENT).files
        assert file["filename"] == "event.ics"
    finally:
        await bot.session.close()
    assert max_api.refused() == []


@needs_aiogram_max
async def test_aiogram_max_breaks_what_this_bot_relies_on(max_api: FakeMaxAPI) -> None:
    """The outbox sends to `chat_id=user_id` (a Telegram private chat's id is the user's id)
    and the sender pauses on `TelegramRetryAfter`; neither holds behind aiogram-max."""
    from aiogram.exceptions import TelegramAPIError
    from aiogram_max import make_bot  # type: ignore[import-not-found]
    from aiogram_max.errors import MaxApiError  # type: ignore[import-not-found]

    bot = make_bot(max_api.token, bot_id=BOT_ID, api_url=max_api.base_url)
    max_api.user(PARENT)
    try:
        # A staff answer or a broadcast goes to the person's id: MAX wants the dialog id.
        with pytest.raises(MaxApiError) as wrong_chat:
            await bot.send_message(chat_id=PARENT, text="Ответ специалиста")
        assert "chat.not.found" in str(wrong_chat.value)
        assert not isinstance(wrong_chat.value, TelegramAPIError)

        # Telegram's 4,096 limit passes through unchecked; MAX refuses above 4,000.
        with pytest.raises(MaxApiError):
            await bot.send_message(chat_id=max_api.dialog_of(PARENT), text="я" * 4096)

        # A 429 is not TelegramRetryAfter: bot/sender.py would not pause, only fail.
        max_api.inject(429, "too.many.requests", endpoint="POST /messages")
        with pytest.raises(MaxApiError) as limited:
            await bot.send_message(chat_id=max_api.dialog_of(PARENT), text="рассылка")
        assert not isinstance(limited.value, TelegramAPIError)
    finally:
        await bot.session.close()
