"""An aiogram session that speaks MAX: the handlers' `message.answer(...)`, `edit_text(...)`,
`bot.send_document(...)` become MAX Bot API calls (made with `maxapi`'s HTTP client), and MAX's
answers and errors come back as aiogram types and exceptions.

So the aiogram `Bot` built on it (`factory.create_max_bot`) serves the same handlers, and
`bot/sender.py` (a middleware of this session) paces, pauses and retries MAX requests as it does
Telegram's: 429 → `TelegramRetryAfter` (1 s: MAX sends no Retry-After), 403 → `TelegramForbiddenError`,
404 chat.not.found → `TelegramBadRequest("chat not found …")` (what Telegram says for a person the
bot cannot reach: the workers' GONE markers mark them inactive), other 4xx → `TelegramBadRequest`
with MAX's code and message, 5xx → `TelegramServerError`, time-outs and connection errors →
`TelegramNetworkError`. maxapi's own retries are off (`max_retries=0`): the sender is the one
place that retries.

Ids: an aiogram `chat_id` is an internal id (`bot.channels`); the message goes to
`POST /messages?user_id=<external id>`. MAX's string `mid`s are mapped to stable ints
(`render.MessageIds`) for aiogram's `message_id`.

Supported methods (anything else raises `UnsupportedMethod`, a `TelegramBadRequest` naming it):
SendMessage, EditMessageText, EditMessageCaption, EditMessageReplyMarkup, DeleteMessage,
AnswerCallbackQuery, SendDocument, SendPhoto, SendChatAction, GetMe, GetFile, SetMyCommands,
DeleteMyCommands, DeleteWebhook.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import mimetypes
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp
from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    DeleteMyCommands,
    DeleteWebhook,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    SendChatAction,
    SendDocument,
    SendMessage,
    SendPhoto,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    BotCommandScopeAllPrivateChats,
    BotCommandScopeDefault,
    BufferedInputFile,
    Chat,
    Document,
    File,
    ForceReply,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    PhotoSize,
    ReplyKeyboardRemove,
    User,
)
from maxapi import Bot as MaxClient
from maxapi.client.default import DefaultConnectionProperties
from maxapi.enums.http_method import HTTPMethod
from maxapi.exceptions.max import InvalidToken, MaxApiError, MaxConnection

from bot.channels import MAX_ID_BASE, Channel, ForeignIdError, external_id, internal_id
from bot.channels.max.render import (
    TEXT_LIMIT,
    MessageIds,
    keyboard_attachment,
    markup_from_max,
    split_html,
    to_max_html,
)
from bot.html import split_text, strip_tags

logger = logging.getLogger(__name__)

DEFAULT_API_URL: Final = "https://platform-api2.max.ru"
ForeignFile = Callable[[str], Awaitable[bytes]]
FILE_ID_PREFIX: Final = "max:"  # file ids this session hands out: max:file:<token>, max:image:<token>
ATTACHMENT_RETRY_DELAYS: Final = (0.5, 1.0, 2.0, 4.0)  # attachment.not.ready: MAX still processes it
_ACTIONS: Final = {
    "typing": "typing_on",
    "upload_photo": "sending_photo",
    "upload_document": "sending_file",
    "upload_video": "sending_video",
    "record_voice": "sending_audio",
    "upload_voice": "sending_audio",
}


class UnsupportedMethod(TelegramBadRequest):
    """An aiogram method the MAX session does not translate (a forgotten path fails loudly)."""


class MaxRefused(TelegramBadRequest):
    """MAX refused a request (4xx other than 403/429): its HTTP status and `code` ride along."""

    def __init__(self, method: TelegramMethod[Any], message: str, *, status: int, code: str) -> None:
        super().__init__(method=method, message=message)
        self.status = status
        self.code = code


class MaxSession(BaseSession):
    """The session of the MAX channel's aiogram `Bot` (module docstring)."""

    def __init__(
        self,
        token: str,
        api_url: str | None = None,
        *,
        timeout: float = 60.0,
        message_ids: MessageIds | None = None,
        attachment_retry_delays: Sequence[float] = ATTACHMENT_RETRY_DELAYS,
        file_keyboard_together: bool = True,
        connection: DefaultConnectionProperties | None = None,
        foreign_file: ForeignFile | None = None,
    ) -> None:
        """`foreign_file`: fetches the bytes of a Telegram file id (an event's photo uploaded by
        staff in Telegram), so MAX gets the picture uploaded instead of a refusal."""
        self.foreign_file = foreign_file
        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        # aiogram builds URLs from `api` only for downloads: a file's path is MAX's download URL.
        super().__init__(
            api=TelegramAPIServer(base=self.api_url + "/{method}", file="{path}"), timeout=timeout
        )
        # maxapi holds the token (in its Authorization header, `repr` masked); this session keeps
        # it only to mask it in log lines (`redact`), and its repr never shows it. maxapi makes no
        # retries of its own (the sender retries); its total time-out is above a long poll's 90 s.
        self.client = MaxClient(
            token, default_connection=connection or DefaultConnectionProperties(timeout=120, max_retries=0)
        )
        self.client.set_api_url(self.api_url)
        self._secret = token
        self.ids = message_ids or MessageIds()
        self._closed = False
        self.attachment_retry_delays = tuple(attachment_retry_delays)
        # Whether a file and an inline keyboard go in one message. MAX's schema says a file must be
        # the only attachment; the stand-in and aiogram-max send both. On a refusal of the pair the
        # session switches to "file, then the keyboard in a following message" for good.
        self.file_keyboard_together = file_keyboard_together
        self._dialogs: OrderedDict[int, int] = OrderedDict()  # internal id → MAX dialog chat id
        self._files: OrderedDict[str, str] = OrderedDict()  # attachment token → download URL
        self._uploaded: OrderedDict[tuple[str, str], str] = OrderedDict()  # (kind, sha256) → token
        self.requests = 0  # HTTP requests made to MAX (tests, benchmarks)

    def __repr__(self) -> str:
        return f"MaxSession(api_url={self.api_url!r}, token='***')"

    def redact(self, text: str) -> str:
        """`text` with the MAX token masked (for log lines built from exceptions)."""
        return text.replace(self._secret, "***") if self._secret else text

    # --- what inbound translation teaches the session ---------------------------------------------
    def remember_dialog(self, internal: int, chat_id: int) -> None:
        """The MAX dialog chat of a person (chat actions are addressed to the dialog)."""
        self._dialogs[internal] = chat_id
        self._dialogs.move_to_end(internal)
        while len(self._dialogs) > 100_000:
            self._dialogs.popitem(last=False)

    def remember_file(self, token: str, url: str) -> str:
        """A file a person sent: its file_id for aiogram (`GetFile` → its download URL)."""
        self._files[token] = url
        self._files.move_to_end(token)
        while len(self._files) > 10_000:
            self._files.popitem(last=False)
        return f"{FILE_ID_PREFIX}file:{token}"

    # --- aiogram's session interface ----------------------------------------------------------------
    async def close(self) -> None:
        """Closed for good: maxapi would quietly open a new HTTP session for a late request
        (and leak it), so a request after close fails instead."""
        self._closed = True
        await self.client.close_session()

    async def _http(self) -> aiohttp.ClientSession:
        if self._closed:
            raise TelegramNetworkError(method=GetMe(), message="the MAX session is closed")
        return await self.client.ensure_session()

    async def __call__(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        # A press answered with nothing to say: MAX refuses an empty answer, so no request at
        # all — not even a slot of the sender's limiter.
        if isinstance(method, AnswerCallbackQuery) and not method.text:
            return True  # type: ignore[return-value]
        return await super().__call__(bot, method, timeout)

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        handler = _HANDLERS.get(type(method))
        if handler is None:
            name = getattr(type(method), "__api_method__", type(method).__name__)
            raise UnsupportedMethod(method=method, message=f"the MAX session does not support {name}")
        result: TelegramType = await handler(self, bot, method, timeout)
        return result

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        http = await self._http()
        async with http.get(
            url,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
            raise_for_status=raise_for_status,
        ) as response:
            async for chunk in response.content.iter_chunked(chunk_size):
                yield chunk

    # --- HTTP ---------------------------------------------------------------------------------------
    async def call(
        self,
        method: TelegramMethod[Any],
        verb: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """One MAX API request through maxapi; MAX errors as aiogram exceptions."""
        await self._http()  # refuses after close
        self.requests += 1
        kwargs: dict[str, Any] = {"timeout": aiohttp.ClientTimeout(total=timeout or self.timeout)}
        if params:
            kwargs["params"] = {k: str(v) for k, v in params.items()}
        if json is not None:
            kwargs["json"] = json
        try:
            result = await self.client.request(HTTPMethod(verb), path, is_return_raw=True, **kwargs)
        except MaxApiError as exc:
            raise self._error(method, exc.code, exc.raw) from None
        except InvalidToken:
            raise TelegramUnauthorizedError(
                method=method, message="MAX refused the bot token (401)"
            ) from None
        except (MaxConnection, aiohttp.ClientError, TimeoutError) as exc:
            raise TelegramNetworkError(method=method, message=self._describe(exc)) from None
        return result if isinstance(result, dict) else {}

    def _describe(self, exc: BaseException) -> str:
        return self.redact(f"{type(exc).__name__}: {exc}")[:300]

    def _error(self, method: TelegramMethod[Any], status: int, raw: Any) -> Exception:
        body = raw if isinstance(raw, dict) else {}
        code = str(body.get("code") or body.get("error_code") or "")
        text = str(body.get("message") or body.get("error") or (raw if isinstance(raw, str) else ""))[:300]
        detail = self.redact(f"MAX {status} {code}: {text}".strip())
        if status == 429:
            return TelegramRetryAfter(method=method, message=f"Too Many Requests ({detail})", retry_after=1)
        if status == 403:
            return TelegramForbiddenError(method=method, message=f"Forbidden: {detail}")
        if status == 401:
            return TelegramUnauthorizedError(method=method, message=f"Unauthorized: {detail}")
        if status >= 500:
            return TelegramServerError(method=method, message=f"Server error: {detail}")
        if status == 404 and code == "chat.not.found":
            return MaxRefused(method, f"Bad Request: chat not found ({detail})", status=status, code=code)
        if status == 404 and isinstance(
            method, EditMessageText | EditMessageCaption | EditMessageReplyMarkup
        ):
            return MaxRefused(
                method, f"Bad Request: message to edit not found ({detail})", status=404, code=code
            )
        if status == 404 and isinstance(method, DeleteMessage):
            return MaxRefused(
                method, f"Bad Request: message to delete not found ({detail})", status=404, code=code
            )
        return MaxRefused(method, f"Bad Request: {detail}", status=status, code=code)

    # --- helpers ------------------------------------------------------------------------------------
    @staticmethod
    def user_of(chat_id: int | str) -> int:
        """The MAX user id behind an aiogram chat id, which must be a MAX internal id."""
        if not isinstance(chat_id, int) or chat_id < MAX_ID_BASE:
            raise ForeignIdError(
                f"chat id {chat_id!r} is not a MAX person's internal id (>= 2**53): "
                "a Telegram chat was sent to the MAX bot"
            )
        return external_id(chat_id)

    @staticmethod
    def _format(bot: Bot, text: str, parse_mode: Any) -> tuple[str, str | None]:
        if isinstance(parse_mode, Default):
            parse_mode = bot.default[parse_mode.name]
        if parse_mode is None:
            return text, None
        if str(parse_mode).lower() == "html":
            return to_max_html(text), "html"
        raise ValueError(f"parse mode {parse_mode!r}: the MAX session speaks HTML only")

    def _parts(
        self, bot: Bot, method: TelegramMethod[Any], text: str, parse_mode: Any
    ) -> tuple[list[str], str | None]:
        try:
            text, fmt = self._format(bot, text, parse_mode)
            parts = split_html(text, TEXT_LIMIT) if fmt == "html" else split_text(text, TEXT_LIMIT)
        except ValueError as exc:
            raise MaxRefused(method, f"Bad Request: {exc}", status=400, code="mocbot.text") from None
        return parts, fmt

    @staticmethod
    def _keyboard(method: TelegramMethod[Any], markup: Any) -> dict[str, Any] | None:
        if markup is None or isinstance(markup, ReplyKeyboardRemove | ForceReply):
            return None  # MAX has neither a reply keyboard to remove nor a forced reply
        if not isinstance(markup, InlineKeyboardMarkup):
            raise UnsupportedMethod(
                method=method,
                message=f"the MAX session sends inline keyboards only, not {type(markup).__name__}",
            )
        try:
            return keyboard_attachment(markup, name=type(method).__name__)
        except ValueError as exc:
            raise MaxRefused(method, f"Bad Request: {exc}", status=400, code="mocbot.keyboard") from None

    def _params(self, method: Any, user: int) -> dict[str, Any]:
        params: dict[str, Any] = {"user_id": user}
        preview = getattr(method, "link_preview_options", None)
        if getattr(method, "disable_web_page_preview", None) is True or (
            preview is not None and not isinstance(preview, Default) and preview.is_disabled is True
        ):
            params["disable_link_preview"] = "true"
        return params

    def _extras(self, method: Any, body: dict[str, Any]) -> dict[str, Any]:
        if getattr(method, "disable_notification", None) is True:
            body["notify"] = False
        reply = getattr(method, "reply_parameters", None)
        reply_to = reply.message_id if reply is not None else getattr(method, "reply_to_message_id", None)
        if isinstance(reply_to, int) and (known := self.ids.get(reply_to)) is not None:
            body["link"] = {"type": "reply", "mid": known.mid}
        return body

    def _message(
        self, bot: Bot, raw: dict[str, Any], chat_id: int, files: Sequence[dict[str, Any]] = ()
    ) -> Message:
        """aiogram's Message for a message MAX stored (as POST /messages returns it)."""
        body = raw.get("body") or {}
        mid = str(body.get("mid") or "")
        if not mid:
            raise TelegramServerError(method=SendMessage(chat_id=chat_id, text=""), message="MAX sent no mid")
        message_id = self.ids.remember(mid, files)
        stamp = raw.get("timestamp")
        date = (
            datetime.fromtimestamp(stamp / 1000, tz=UTC)
            if isinstance(stamp, int | float)
            else datetime.now(UTC)
        )
        text = body.get("text") or None
        document = photo = None
        for item in files:
            token = str((item.get("payload") or {}).get("token") or "")
            if item.get("type") == "file":
                document = Document(file_id=f"{FILE_ID_PREFIX}file:{token}", file_unique_id=token)
            elif item.get("type") == "image":
                photo = [
                    PhotoSize(
                        file_id=f"{FILE_ID_PREFIX}image:{token}", file_unique_id=token, width=0, height=0
                    )
                ]
        with_file = document is not None or photo is not None
        return Message(
            message_id=message_id,
            date=date,
            chat=Chat(id=chat_id, type="private"),
            from_user=User(id=bot.id, is_bot=True, first_name="MAX bot"),
            text=None if with_file else text,
            caption=text if with_file else None,
            document=document,
            photo=photo,
            reply_markup=markup_from_max(body.get("attachments")),
        ).as_(bot)

    async def _post(
        self,
        method: TelegramMethod[Any],
        bot: Bot,
        chat_id: int,
        body: dict[str, Any],
        *,
        timeout: int | None,
        files: Sequence[dict[str, Any]] = (),
    ) -> Message:
        """POST /messages, retrying `attachment.not.ready` with growing delays."""
        params = self._params(method, self.user_of(chat_id))
        body = self._extras(method, body)
        delays = list(self.attachment_retry_delays) if files else []
        while True:
            try:
                answer = await self.call(
                    method, "POST", "/messages", params=params, json=body, timeout=timeout
                )
                break
            except MaxRefused as exc:
                if exc.code != "attachment.not.ready" or not delays:
                    raise
                delay = delays.pop(0)
                logger.info("MAX still processes the attachment: sending again in %.1f s", delay)
                await asyncio.sleep(delay)
        return self._message(bot, answer.get("message") or {}, chat_id, files)

    # --- methods ------------------------------------------------------------------------------------
    async def _send_message(self, bot: Bot, method: SendMessage, timeout: int | None) -> Message:
        parts, fmt = self._parts(bot, method, method.text, method.parse_mode)
        keyboard = self._keyboard(method, method.reply_markup)
        if len(parts) > 1:
            return await self._send_parts(bot, method, parts, fmt, timeout, last=None)
        body: dict[str, Any] = {"text": parts[0], "attachments": [keyboard] if keyboard else []}
        if fmt:
            body["format"] = fmt
        return await self._post(method, bot, int(method.chat_id), body, timeout=timeout)

    async def _send_parts(
        self,
        bot: Bot,
        method: SendMessage | SendDocument | SendPhoto,
        parts: list[str],
        fmt: str | None,
        timeout: int | None,
        *,
        last: SendDocument | SendPhoto | None,
    ) -> Message:
        """A text too long for one MAX message: the first part goes in this request, every
        further part is a request of its own through the session's middlewares (its own slot,
        its own 429 pause), so a retried part never sends an earlier one twice. The keyboard
        (and a file) go with the last part, which is returned."""
        chat_id = int(method.chat_id)
        first: dict[str, Any] = {"text": parts[0], "attachments": []}
        if fmt:
            first["format"] = fmt
        sent = await self._post(method, bot, chat_id, first, timeout=timeout)
        for number, part in enumerate(parts[1:], start=2):
            is_last = number == len(parts)
            if is_last and last is not None:
                follow: TelegramMethod[Message] = last.model_copy(update={"caption": part, "parse_mode": fmt})
            else:
                follow = SendMessage(
                    chat_id=chat_id,
                    text=part,
                    parse_mode=fmt,
                    reply_markup=method.reply_markup if is_last else None,
                    link_preview_options=getattr(method, "link_preview_options", None)
                    if not isinstance(getattr(method, "link_preview_options", None), Default)
                    else None,
                    disable_notification=method.disable_notification,
                )
            sent = await self(bot, follow, timeout)
        return sent

    async def _edit_text(
        self, bot: Bot, method: EditMessageText | EditMessageCaption, timeout: int | None
    ) -> Message | bool:
        if method.inline_message_id is not None or method.message_id is None or method.chat_id is None:
            raise UnsupportedMethod(method=method, message="the MAX session edits chat messages only")
        known = self.ids.get(method.message_id)
        if known is None:
            raise MaxRefused(
                method, "Bad Request: message to edit not found", status=404, code="mocbot.unknown.mid"
            )
        raw_text = (method.text if isinstance(method, EditMessageText) else method.caption) or ""
        parts, fmt = self._parts(bot, method, raw_text, method.parse_mode)
        keyboard = self._keyboard(method, method.reply_markup)
        # Telegram drops a keyboard an edit does not repeat: so does this edit (the message's
        # files are kept). A text too long for one message: the rest follows as new messages,
        # the keyboard under the last.
        attachments = [*known.files, *([keyboard] if keyboard and len(parts) == 1 else [])]
        body: dict[str, Any] = {"text": parts[0], "attachments": attachments}
        if fmt:
            body["format"] = fmt
        await self.call(
            method, "PUT", "/messages", params={"message_id": known.mid}, json=body, timeout=timeout
        )
        chat_id = int(method.chat_id)
        if len(parts) > 1:
            for number, part in enumerate(parts[1:], start=2):
                await self(
                    bot,
                    SendMessage(
                        chat_id=chat_id,
                        text=part,
                        parse_mode=fmt,
                        reply_markup=method.reply_markup if number == len(parts) else None,
                    ),
                    timeout,
                )
        return Message(
            message_id=method.message_id,
            date=datetime.now(UTC),
            edit_date=int(datetime.now(UTC).timestamp()),
            chat=Chat(id=chat_id, type="private"),
            text=strip_tags(parts[0]) if fmt else parts[0],
            reply_markup=method.reply_markup
            if isinstance(method.reply_markup, InlineKeyboardMarkup)
            else None,
        ).as_(bot)

    async def _edit_markup(self, bot: Bot, method: EditMessageReplyMarkup, timeout: int | None) -> bool:
        if method.inline_message_id is not None or method.message_id is None:
            raise UnsupportedMethod(method=method, message="the MAX session edits chat messages only")
        known = self.ids.get(method.message_id)
        if known is None:
            raise MaxRefused(
                method, "Bad Request: message to edit not found", status=404, code="mocbot.unknown.mid"
            )
        keyboard = self._keyboard(method, method.reply_markup)
        body = {"attachments": [*known.files, *([keyboard] if keyboard else [])]}  # no text: it stays
        await self.call(
            method, "PUT", "/messages", params={"message_id": known.mid}, json=body, timeout=timeout
        )
        return True

    async def _delete(self, bot: Bot, method: DeleteMessage, timeout: int | None) -> bool:
        known = self.ids.get(method.message_id)
        if known is None:
            raise MaxRefused(
                method, "Bad Request: message to delete not found", status=404, code="mocbot.unknown.mid"
            )
        await self.call(method, "DELETE", "/messages", params={"message_id": known.mid}, timeout=timeout)
        return True

    async def _answer(self, bot: Bot, method: AnswerCallbackQuery, timeout: int | None) -> bool:
        if not method.text:  # (normally stopped in __call__ before the middlewares)
            return True
        await self.call(
            method,
            "POST",
            "/answers",
            params={"callback_id": method.callback_query_id},
            json={"notification": method.text},
            timeout=timeout,
        )
        return True

    async def _send_file(self, bot: Bot, method: SendDocument | SendPhoto, timeout: int | None) -> Message:
        kind = "image" if isinstance(method, SendPhoto) else "file"
        media = method.photo if isinstance(method, SendPhoto) else method.document
        parts, fmt = self._parts(bot, method, method.caption or "", method.parse_mode)
        if len(parts) > 1:  # the caption is a long text: its parts first, the file with the last
            return await self._send_parts(bot, method, parts, fmt, timeout, last=method)
        attachment = await self._attachment(bot, method, kind, media, timeout)
        keyboard = self._keyboard(method, method.reply_markup)
        text = parts[0]
        chat_id = int(method.chat_id)
        if keyboard is not None and self.file_keyboard_together:
            body = self._body(text, fmt, [attachment, keyboard])
            try:
                return await self._post(method, bot, chat_id, body, timeout=timeout, files=[attachment])
            except MaxRefused as exc:
                if exc.code != "proto.payload":
                    raise
                logger.warning(
                    "MAX refused a file with a keyboard in one message (%s): from now on the keyboard "
                    "follows in a message of its own",
                    exc.message,
                )
                self.file_keyboard_together = False
        if keyboard is not None:
            # The file (with no text), then the text with the keyboard as a message of its own.
            sent = await self._post(
                method, bot, chat_id, self._body("", None, [attachment]), timeout=timeout, files=[attachment]
            )
            await self(
                bot,
                SendMessage(
                    chat_id=chat_id, text=text or "⬆️", parse_mode=fmt, reply_markup=method.reply_markup
                ),
                timeout,
            )
            return sent
        return await self._post(
            method, bot, chat_id, self._body(text, fmt, [attachment]), timeout=timeout, files=[attachment]
        )

    @staticmethod
    def _body(text: str, fmt: str | None, attachments: list[dict[str, Any]]) -> dict[str, Any]:
        body: dict[str, Any] = {"attachments": attachments}
        if text:
            body["text"] = text
            if fmt:
                body["format"] = fmt
        return body

    async def _attachment(
        self, bot: Bot, method: TelegramMethod[Any], kind: str, media: InputFile | str, timeout: int | None
    ) -> dict[str, Any]:
        if isinstance(media, str):
            for known_kind in ("file", "image"):
                prefix = f"{FILE_ID_PREFIX}{known_kind}:"
                if media.startswith(prefix):  # a token this session uploaded before: reusable
                    return {"type": known_kind, "payload": {"token": media.removeprefix(prefix)}}
            if kind == "image" and media.startswith(("https://", "http://")):
                return {"type": "image", "payload": {"url": media}}
            if self.foreign_file is not None:  # a Telegram file: its bytes, uploaded (once) to MAX
                data = await self.foreign_file(media)
                return await self._attachment(
                    bot,
                    method,
                    kind,
                    BufferedInputFile(data, "photo.jpg" if kind == "image" else "file"),
                    timeout,
                )
            raise MaxRefused(
                method,
                "Bad Request: a Telegram file_id cannot be sent to MAX (send the bytes or a MAX file id)",
                status=400,
                code="mocbot.file_id",
            )
        if isinstance(media, BufferedInputFile):
            data = media.data
        else:
            data = b"".join([chunk async for chunk in media.read(bot)])
        name = media.filename or ("photo.jpg" if kind == "image" else "file")
        key = (kind, hashlib.sha256(data).hexdigest())
        token = self._uploaded.get(key)
        if token is None:
            token = await self._upload(method, kind, name, data, timeout)
            self._uploaded[key] = token
            while len(self._uploaded) > 256:
                self._uploaded.popitem(last=False)
        return {"type": kind, "payload": {"token": token}}

    async def _upload(
        self, method: TelegramMethod[Any], kind: str, name: str, data: bytes, timeout: int | None
    ) -> str:
        """POST /uploads → the bytes to the URL it names → the token. The multipart is built here,
        not by maxapi's `upload_file_buffer`, which renames the file by sniffing its bytes
        (`x.ics` → `x.ics.ics`, `report.xlsx` → `report.docx`, a CSV loses its extension)."""
        slot = await self.call(method, "POST", "/uploads", params={"type": kind}, timeout=timeout)
        url = slot.get("url")
        if not isinstance(url, str):
            raise TelegramServerError(method=method, message="MAX gave no upload URL")
        form = aiohttp.FormData(quote_fields=False)
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        form.add_field("data", data, filename=name, content_type=mime)
        self.requests += 1
        try:
            http = await self._http()
            async with http.post(
                url, data=form, timeout=aiohttp.ClientTimeout(total=max(timeout or 0, self.timeout, 120))
            ) as response:
                text = await response.text()
                if response.status >= 400:
                    raise self._error(method, response.status, {"code": "upload", "message": text[:200]})
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = {}
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TelegramNetworkError(method=method, message=self._describe(exc)) from None
        if kind == "image":
            photos = answer.get("photos") if isinstance(answer, dict) else None
            first: Any = next(iter(photos.values()), None) if isinstance(photos, dict) else None
            token = first.get("token") if isinstance(first, dict) else None
        else:
            token = answer.get("token") if isinstance(answer, dict) else None
        token = token or slot.get("token")
        if not isinstance(token, str) or not token:
            raise TelegramServerError(method=method, message="MAX's upload answered without a token")
        return token

    async def _chat_action(self, bot: Bot, method: SendChatAction, timeout: int | None) -> bool:
        self.user_of(method.chat_id)
        chat = self._dialogs.get(int(method.chat_id))
        if chat is None:  # the dialog is not known yet (no update from the person since start)
            return True
        action = _ACTIONS.get(str(method.action), "typing_on")
        await self.call(method, "POST", f"/chats/{chat}/actions", json={"action": action}, timeout=timeout)
        return True

    async def _get_me(self, bot: Bot, method: GetMe, timeout: int | None) -> User:
        me = await self.call(method, "GET", "/me", timeout=timeout)
        return User(
            id=internal_id(Channel.MAX, int(me["user_id"])),
            is_bot=True,
            first_name=str(me.get("first_name") or me.get("name") or "MAX bot"),
            last_name=me.get("last_name"),
            username=me.get("username"),
        )

    async def _get_file(self, bot: Bot, method: GetFile, timeout: int | None) -> File:
        prefix = f"{FILE_ID_PREFIX}file:"
        token = method.file_id.removeprefix(prefix)
        url = self._files.get(token) if method.file_id.startswith(prefix) else None
        if url is None:
            raise MaxRefused(
                method,
                "Bad Request: file not found (not a MAX file of this process)",
                status=400,
                code="mocbot.file_id",
            )
        return File(file_id=method.file_id, file_unique_id=token, file_path=url)

    async def _set_commands(
        self, bot: Bot, method: SetMyCommands | DeleteMyCommands, timeout: int | None
    ) -> bool:
        # MAX has one command list per bot (PATCH /me/commands): the default and all-private
        # scopes set it; a scope of a chat or a language variant is Telegram's alone.
        if method.language_code or not isinstance(
            method.scope, BotCommandScopeDefault | BotCommandScopeAllPrivateChats | type(None)
        ):
            return True
        commands = (
            [{"name": c.command, "description": c.description} for c in method.commands]
            if isinstance(method, SetMyCommands)
            else []
        )
        await self.call(method, "PATCH", "/me/commands", json={"commands": commands}, timeout=timeout)
        return True

    async def _delete_webhook(self, bot: Bot, method: DeleteWebhook, timeout: int | None) -> bool:
        """Long polling is refused while a webhook subscription exists: remove them all."""
        answer = await self.call(method, "GET", "/subscriptions", timeout=timeout)
        for subscription in answer.get("subscriptions") or []:
            await self.call(
                method, "DELETE", "/subscriptions", params={"url": subscription.get("url")}, timeout=timeout
            )
        return True


_HANDLERS: dict[type[Any], Any] = {
    SendMessage: MaxSession._send_message,
    EditMessageText: MaxSession._edit_text,
    EditMessageCaption: MaxSession._edit_text,
    EditMessageReplyMarkup: MaxSession._edit_markup,
    DeleteMessage: MaxSession._delete,
    AnswerCallbackQuery: MaxSession._answer,
    SendDocument: MaxSession._send_file,
    SendPhoto: MaxSession._send_file,
    SendChatAction: MaxSession._chat_action,
    GetMe: MaxSession._get_me,
    GetFile: MaxSession._get_file,
    SetMyCommands: MaxSession._set_commands,
    DeleteMyCommands: MaxSession._set_commands,
    DeleteWebhook: MaxSession._delete_webhook,
}
