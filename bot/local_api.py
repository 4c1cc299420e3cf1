"""An in-process Bot API for the local console and the tests.

`LocalBotSession` is an aiogram session that answers the Bot API methods the bot
uses without any network: it assigns message ids, remembers messages so edits
work, keeps files for downloads, and checks what the bot sends the way Telegram
would (HTML, 4096/1024 limits, 64-byte callback data), answering 400 otherwise.
Errors such as 429 or 403 can be queued to test how the bot reacts; they pass
through `check_response`, so the real aiogram exceptions are raised.

`UpdateFactory` builds incoming updates (messages, button presses, documents)
from a simulated user.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    DeleteMessage,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import (
    CallbackQuery,
    Chat,
    Document,
    File,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from aiogram.types import (
    User as TgUser,
)

from bot.html import CAPTION_LIMIT, MESSAGE_LIMIT, html_errors, visible_length

T = TypeVar("T")

BOT_ID = 42
BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "mocbot", "username": "mocbot_local_bot"}


@dataclass
class Sent:
    """One message the bot sent or edited, as the user would see it."""

    method: str
    chat_id: int
    message_id: int
    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    file_name: str | None = None
    file_bytes: bytes | None = None
    reply_to: int | None = None

    @property
    def buttons(self) -> list[tuple[str, str | None, str | None]]:
        """(text, callback_data, url) of every inline button, row by row."""
        if self.reply_markup is None:
            return []
        return [(b.text, b.callback_data, b.url) for row in self.reply_markup.inline_keyboard for b in row]


@dataclass
class _Error:
    method: str | None
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class LocalBotSession(BaseSession):
    """Records every request; see the module docstring."""

    requests: list[TelegramMethod[Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    callback_answers: list[AnswerCallbackQuery] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()
        self._errors: deque[_Error] = deque()
        self._ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[tuple[int, int], Sent] = {}

    # --- test helpers -----------------------------------------------------------
    def fail_next(
        self, status: int, description: str, method: str | None = None, retry_after: int | None = None
    ) -> None:
        """Answer the next request (of `method`, if given) with an error; status 0 is a time-out."""
        self._errors.append(_Error(method, status, description, retry_after))

    def next_message_id(self, chat_id: int) -> int:
        counter = self._ids.setdefault(chat_id, itertools.count(1000))
        return next(counter)

    def message(self, chat_id: int, message_id: int) -> Sent | None:
        return self._messages.get((chat_id, message_id))

    def register_file(self, path: Path) -> str:
        file_id = f"local-{len(self.files) + 1}"
        self.files[file_id] = path
        return file_id

    # --- BaseSession --------------------------------------------------------------
    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        file_id = url.rsplit("/", 1)[-1]
        path = self.files[file_id]
        with path.open("rb") as fh:
            while chunk := fh.read(chunk_size):
                yield chunk

    async def make_request(self, bot: Bot, method: TelegramMethod[T], timeout: int | None = None) -> T:
        self.requests.append(method)
        name = type(method).__name__
        if self._errors and self._errors[0].method in (None, name):
            err = self._errors.popleft()
            self._raise(bot, method, err)
        problem = self._validate(bot, method)
        if problem:
            self._raise(bot, method, _Error(name, 400, f"Bad Request: {problem}"))
        result = await self._answer(bot, method)
        return result  # type: ignore[no-any-return]

    # --- internals ------------------------------------------------------------------
    def _raise(self, bot: Bot, method: TelegramMethod[Any], err: _Error) -> None:
        if err.status == 0:  # no answer at all: what aiogram raises when a request times out
            raise TelegramNetworkError(method=method, message=err.description or "Request timeout error")
        payload: dict[str, Any] = {"ok": False, "error_code": err.status, "description": err.description}
        if err.retry_after is not None:
            payload["parameters"] = {"retry_after": err.retry_after}
        self.check_response(bot, method, err.status, json.dumps(payload))
        raise AssertionError("check_response should have raised")  # pragma: no cover

    @staticmethod
    def _parse_mode(bot: Bot, method: Any) -> str | None:
        value = getattr(method, "parse_mode", None)
        if isinstance(value, Default):
            value = bot.default[value.name]
        return value if isinstance(value, str) else None

    def _validate(self, bot: Bot, method: Any) -> str | None:
        markup = getattr(method, "reply_markup", None)
        if isinstance(markup, InlineKeyboardMarkup):
            for row in markup.inline_keyboard:
                for button in row:
                    if button.callback_data is not None and len(button.callback_data.encode()) > 64:
                        return "BUTTON_DATA_INVALID"
                    if not button.text:
                        return "button text is empty"
        for attr, limit in (("text", MESSAGE_LIMIT), ("caption", CAPTION_LIMIT)):
            value = getattr(method, attr, None)
            if not isinstance(value, str):
                continue
            html = self._parse_mode(bot, method) == "HTML"
            if html:
                errors = html_errors(value)
                if errors:
                    return f"can't parse entities: {errors[0]}"
            length = visible_length(value) if html else len(value)
            if attr == "text" and not value.strip():
                return "message text is empty"
            if length > limit:
                return "message is too long" if attr == "text" else "message caption is too long"
        return None

    def _message(self, bot: Bot, chat_id: int, message_id: int, **extra: Any) -> Message:
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup", "title": "chat"}
        if chat_id > 0:
            chat = {"id": chat_id, "type": "private", "first_name": "user"}
        data = {
            "message_id": message_id,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": chat,
            "from": BOT_USER,
            **extra,
        }
        return Message.model_validate(data, context={"bot": bot})

    async def _read_input_file(self, bot: Bot, value: Any) -> tuple[str | None, bytes | None]:
        if isinstance(value, InputFile):
            chunks = [chunk async for chunk in value.read(bot)]
            return value.filename, b"".join(chunks)
        if isinstance(value, str):
            return value, None
        return None, None

    async def _answer(self, bot: Bot, method: Any) -> Any:
        if isinstance(method, GetMe):
            return TgUser.model_validate({**BOT_USER, "can_join_groups": True})
        if isinstance(method, SendMessage | SendPhoto | SendDocument | CopyMessage):
            chat_id = int(method.chat_id)
            message_id = self.next_message_id(chat_id)
            text = getattr(method, "text", None) or getattr(method, "caption", None) or ""
            file_name = file_bytes = None
            if isinstance(method, SendPhoto):
                file_name, file_bytes = await self._read_input_file(bot, method.photo)
            elif isinstance(method, SendDocument):
                file_name, file_bytes = await self._read_input_file(bot, method.document)
            reply_to = None
            reply_parameters = getattr(method, "reply_parameters", None)
            if reply_parameters is not None:
                reply_to = reply_parameters.message_id
            markup = method.reply_markup if isinstance(method.reply_markup, InlineKeyboardMarkup) else None
            record = Sent(
                type(method).__name__, chat_id, message_id, text, markup, file_name, file_bytes, reply_to
            )
            self.sent.append(record)
            self._messages[(chat_id, message_id)] = record
            if isinstance(method, CopyMessage):
                from aiogram.types import MessageId

                return MessageId(message_id=message_id)
            extra: dict[str, Any] = {"text": text} if isinstance(method, SendMessage) else {"caption": text}
            if markup is not None:
                extra["reply_markup"] = markup.model_dump(exclude_none=True)
            return self._message(bot, chat_id, message_id, **extra)
        if isinstance(method, EditMessageText | EditMessageReplyMarkup | EditMessageCaption):
            chat_id = int(method.chat_id or 0)
            message_id = int(method.message_id or 0)
            old = self._messages.get((chat_id, message_id))
            if old is None:
                self._raise(bot, method, _Error(None, 400, "Bad Request: message to edit not found"))
                raise AssertionError  # pragma: no cover
            new_text: str = old.text
            if isinstance(method, EditMessageText):
                new_text = method.text or ""
            elif isinstance(method, EditMessageCaption):
                new_text = method.caption or ""
            markup = method.reply_markup if isinstance(method.reply_markup, InlineKeyboardMarkup) else None
            if new_text == old.text and markup == old.reply_markup:
                self._raise(bot, method, _Error(None, 400, "Bad Request: message is not modified"))
            record = Sent(type(method).__name__, chat_id, message_id, new_text, markup)
            self.sent.append(record)
            self._messages[(chat_id, message_id)] = record
            extra = {"text": new_text}
            if markup is not None:
                extra["reply_markup"] = markup.model_dump(exclude_none=True)
            return self._message(bot, chat_id, message_id, **extra)
        if isinstance(method, AnswerCallbackQuery):
            self.callback_answers.append(method)
            return True
        if isinstance(method, DeleteMessage):
            self._messages.pop((int(method.chat_id), method.message_id), None)
            return True
        if isinstance(method, GetFile):
            if method.file_id not in self.files:
                self._raise(bot, method, _Error(None, 400, "Bad Request: invalid file_id"))
            size = self.files[method.file_id].stat().st_size
            return File(file_id=method.file_id, file_unique_id=method.file_id, file_size=size,
                        file_path=method.file_id)  # fmt: skip
        returning = getattr(method, "__returning__", None)
        if returning is bool:
            return True
        raise NotImplementedError(f"LocalBotSession does not emulate {type(method).__name__}")


@dataclass
class UpdateFactory:
    """Builds updates from one simulated private-chat user (and the staff chat)."""

    user_id: int = 1001
    first_name: str = "Анна"
    username: str | None = "anna_parent"
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def tg_user(self, user_id: int | None = None) -> dict[str, Any]:
        uid = user_id or self.user_id
        data: dict[str, Any] = {"id": uid, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        return data

    def _chat(self, chat_id: int | None, user_id: int) -> dict[str, Any]:
        if chat_id is None or chat_id > 0:
            return {"id": chat_id or user_id, "type": "private", "first_name": self.first_name}
        return {"id": chat_id, "type": "supergroup", "title": "Сотрудники МОЦ"}

    def message(
        self,
        text: str | None = None,
        *,
        user_id: int | None = None,
        chat_id: int | None = None,
        document: tuple[str, str, int] | None = None,
        reply_to: Message | dict[str, Any] | None = None,
        **extra: Any,
    ) -> Update:
        uid = user_id or self.user_id
        data: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(datetime.now(UTC).timestamp()),
            "chat": self._chat(chat_id, uid),
            "from": self.tg_user(uid),
            **extra,
        }
        if text is not None:
            data["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                data["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if document is not None:
            file_id, file_name, size = document
            data["document"] = Document(
                file_id=file_id, file_unique_id=file_id, file_name=file_name, file_size=size
            ).model_dump(exclude_none=True)
        if reply_to is not None:
            data["reply_to_message"] = (
                reply_to.model_dump(by_alias=True, exclude_none=True)
                if isinstance(reply_to, Message)
                else reply_to
            )
        return Update.model_validate({"update_id": next(self._update_ids), "message": data})

    def callback(self, message: Sent, data: str, *, user_id: int | None = None) -> Update:
        uid = user_id or self.user_id
        msg: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": self._chat(message.chat_id, uid),
            "from": BOT_USER,
        }
        if message.method == "SendPhoto":  # as Telegram shows it: a photo with a caption, no text
            file_id = message.file_name or "photo"
            msg["photo"] = [{"file_id": file_id, "file_unique_id": file_id, "width": 1, "height": 1}]
            msg["caption"] = message.text
        else:
            msg["text"] = message.text or "-"
        if message.reply_markup is not None:
            msg["reply_markup"] = message.reply_markup.model_dump(exclude_none=True)
        query = CallbackQuery.model_validate(
            {
                "id": str(next(self._update_ids)),
                "from": self.tg_user(uid),
                "chat_instance": "local",
                "message": msg,
                "data": data,
            }
        )
        return Update(update_id=next(self._update_ids), callback_query=query)


def staff_chat_message(sent: Sent) -> dict[str, Any]:
    """A message the bot sent into a group, as it appears inside `reply_to_message`."""
    return {
        "message_id": sent.message_id,
        "date": int(datetime.now(UTC).timestamp()),
        "chat": Chat(id=sent.chat_id, type="supergroup", title="chat").model_dump(exclude_none=True),
        "from": BOT_USER,
        "text": sent.text,
    }
