"""A local stand-in for the MAX Bot API over real HTTP, for tests and benchmarks.

It speaks the subset of the MAX Bot API a parent-facing bot uses, on 127.0.0.1
with a random port (`base_url`), and refuses what MAX refuses, the way
`tests/support/fake_api.py` does for Telegram:

- `GET /me`, `GET /updates` (long polling with `marker`, `timeout`, `limit`, `types`),
- `POST /messages` (`user_id` or `chat_id`), `PUT /messages` (edit by `message_id` = mid),
  `DELETE /messages`, `GET /messages/{mid}`,
- `POST /answers` (answer a button press: a `notification` and/or a new `message`),
- the upload flow: `POST /uploads?type=file|image|video|audio` returns an upload URL
  (on this server), a multipart POST of the field `data` to it returns the token
  (`{"token"}` for files, `{"photos": {key: {"token"}}}` for images, the token of
  `POST /uploads` for video and audio), and a message with
  `{"type": "file", "payload": {"token": ...}}` attaches it; a file can be made
  "not ready" for a while (`attachment_ready_after`), as MAX does while it processes,
- `POST /chats/{chat_id}/actions`, `GET|POST|DELETE /subscriptions` (webhooks are only
  recorded: with one set, `GET /updates` is refused, since MAX serves one or the other).

Authorisation is the `Authorization: <token>` header; a token in the `access_token`
query parameter is refused (401), as MAX no longer accepts it.

Ids are MAX's, not Telegram's: a user has a `user_id`, and the dialog between the bot
and that user has its own `chat_id` (a different number). A message is addressed by
its string `mid`; `seq` is a large integer. Sending to `chat_id=<a user id>` is refused
with 404, so a client that confuses the two fails here as it would against MAX.

Limits, and where each comes from
---------------------------------
Confirmed in MAX's documentation:

- Text of a message at most 4,000 characters (`NewMessageBody.text`, `maxLength: 4000`)
  — https://dev.max.ru/docs-api/methods/POST/messages and the OpenAPI schema the docs
  are built from (snapshots in github.com/max-messenger-bot/max-bot-api-schemas,
  `schema_2026_07_01.yaml`, API version 0.0.32).
- `format` is `markdown` or `html`, nothing else (`TextFormat` enum) — same schema;
  the HTML tags MAX knows (i/em, b/strong, del/s, ins/u, a, pre/code, mark, h1) —
  https://dev.max.ru/docs/chatbots/bots-coding/formatting and the schema's
  "Text formatting" section ("all others will be stripped").
- Inline keyboard: at most 210 buttons in at most 30 rows, at most 7 buttons a row,
  at most 3 in a row with a `link`, `open_app`, `request_geo_location` or
  `request_contact` button —
  https://dev.max.ru/docs-api/use-cases/sending-messages/keyboard/
- Button text 1–128 characters; callback `payload` at most 1,024 characters and
  required; link `url` at most 2,048 characters (`Button`, `CallbackButton`,
  `LinkButton` in the schema above).
- 30 requests per second to the API — stated in the `POST /uploads` description of the
  schema ("максимальное количество запросов в секунду на platform-api.max.ru — 30 rps")
  and in GREEN-API's MAX FAQ (https://green-api.com/max-bot-api/docs/faq). Off by
  default here; a test turns it on with `rate_limit=30`.
- At most two messages (and two callback answers) a second into one dialog or chat —
  https://dev.max.ru/docs-api/methods/POST/messages and
  https://dev.max.ru/docs-api/methods/POST/answers . Off by default (`per_chat_rate=2`).
- `GET /updates`: `limit` 1–1000, `timeout` 0–90 s; `marker` is the next expected
  update and everything before the marker you pass counts as read (schema, `/updates`).
  MAX calls long polling unfit for production and recommends webhooks.
- Upload types `image|video|audio|file` (`type=photo` no longer accepted); a file
  attached right after upload may be answered `attachment.not.ready` (schema,
  `POST /uploads`). A file attachment must be the only attachment of a message
  (`FileAttachmentRequest` in the schema) — here an inline keyboard beside it is
  accepted, as aiogram-max sends it (keyboard after the file); not confirmed by the docs.
- An empty answer to a button press (neither `message` nor `notification`) is refused:
  `CallbackAnswer` has the two optional fields; aiogram-max reports MAX answering
  `400 proto.payload` to an empty body (seen on the live API, not in the docs).

Not confirmed (the stand-in's choice, to be checked against the real API):

- How the 4,000 characters are counted: here the raw `text` as sent (markup included,
  Python characters, not UTF-16 units) — the strictest reading.
- Error codes and bodies beyond the documented `{"code", "message"}` shape: 429
  `too.many.requests`, 404 `chat.not.found`, 403 `chat.denied` (a user who stopped the
  bot), 400 `proto.payload` / `attachment.not.ready` / `attachment.token.invalid`.
  Whether a 429 carries `Retry-After` is not documented; off by default
  (`retry_after_header`).
- Unsupported HTML tags: MAX strips them silently. By default (`html_strict=True`) this
  stand-in refuses them instead, so a test learns that a parent would have seen lost
  formatting; `html_strict=False` strips and records them in `stripped_tags`.
- `GET /updates` without a marker: here it returns every update not yet read (the docs'
  wording, "only the last update", is ambiguous).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

from bot.local_server import LocalServer

BOT_ID = 7_700_001
BOT_NAME = "mocbot"
BOT_USERNAME = "mocbot_test_bot"

TEXT_LIMIT = 4000
KEYBOARD_MAX_ROWS = 30
KEYBOARD_MAX_PER_ROW = 7
KEYBOARD_MAX_PER_ROW_WIDE = 3  # a row with a link, open_app, request_* button
KEYBOARD_MAX_BUTTONS = 210
BUTTON_TEXT_LIMIT = 128
CALLBACK_PAYLOAD_LIMIT = 1024
LINK_URL_LIMIT = 2048
UPDATES_LIMIT_MAX = 1000
UPDATES_TIMEOUT_MAX = 90
TEXT_FORMATS = frozenset({"markdown", "html"})
UPLOAD_TYPES = frozenset({"image", "video", "audio", "file"})
BUTTON_TYPES = frozenset(
    {"callback", "link", "request_contact", "request_geo_location", "open_app", "message", "clipboard"}
)
WIDE_BUTTONS = frozenset({"link", "open_app", "request_geo_location", "request_contact"})
ATTACHMENT_TYPES = frozenset(
    {"image", "video", "audio", "file", "sticker", "contact", "inline_keyboard", "location", "share"}
)
HTML_TAGS = frozenset({"i", "em", "b", "strong", "del", "s", "ins", "u", "a", "pre", "code", "mark", "h1"})
DIALOG_BASE = 900_000_000_000  # dialog chat ids live apart from user ids
SEQ_BASE = 116_993_690_454_000_000  # MAX's seq values are this large


class MaxRefusal(Exception):
    """An error answer of the API: HTTP status and MAX's `{"code", "message"}` body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def _bad(message: str) -> MaxRefusal:
    """400 `proto.payload`: what MAX answers to a request body it does not accept."""
    return MaxRefusal(400, "proto.payload", message)


@dataclass
class Received:
    """One request the stand-in received."""

    verb: str
    path: str
    query: dict[str, str]
    body: Any
    at: float
    status: int = 200
    error: str | None = None

    @property
    def endpoint(self) -> str:
        """`POST /messages`, `GET /updates`, … (path parameters folded)."""
        path = re.sub(r"^/chats/[^/]+/", "/chats/{id}/", self.path)
        path = re.sub(r"^/messages/[^/]+$", "/messages/{mid}", path)
        path = re.sub(r"^/upload/.*$", "/upload/{id}", path)
        return f"{self.verb} {path}"

    @property
    def text(self) -> str:
        body = self.body if isinstance(self.body, dict) else {}
        if self.path == "/answers":
            body = body.get("message") or {}
        return str(body.get("text") or "")


@dataclass
class StoredMessage:
    mid: str
    seq: int
    chat_id: int
    user_id: int | None  # the dialog's user (None in a group chat)
    sender_id: int
    text: str
    format: str | None
    attachments: list[dict[str, Any]]
    timestamp: int
    edits: int = 0

    @property
    def keyboard(self) -> list[list[dict[str, Any]]]:
        for attachment in self.attachments:
            if attachment.get("type") == "inline_keyboard":
                return list((attachment.get("payload") or {}).get("buttons") or [])
        return []

    @property
    def files(self) -> list[dict[str, Any]]:
        return [a for a in self.attachments if a.get("type") in {"file", "image", "video", "audio"}]

    def button_texts(self) -> list[str]:
        return [str(b.get("text")) for row in self.keyboard for b in row]

    def button(self, text: str) -> dict[str, Any]:
        for row in self.keyboard:
            for button in row:
                if button.get("text") == text:
                    return button
        raise KeyError(f"no button {text!r} in {[b.get('text') for r in self.keyboard for b in r]}")


@dataclass
class _Upload:
    kind: str
    token: str
    filename: str | None = None
    data: bytes | None = None
    uploaded_at: float | None = None


@dataclass
class _Injected:
    endpoint: str | None
    status: int
    code: str
    message: str


class _HtmlScan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.unknown: list[str] = []
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            self.unknown.append(tag)
            return
        if tag == "a" and not dict(attrs).get("href"):
            self.errors.append("<a> without href")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in HTML_TAGS:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}>")
            return
        self.stack.pop()

    def close(self) -> None:
        super().close()
        if self.stack:
            self.errors.append(f"unclosed <{self.stack[-1]}>")


@dataclass
class FakeMaxAPI(LocalServer):
    """The stand-in; see the module docstring. Everything received is recorded."""

    token: str = "max-test-token"
    rate_limit: float | None = None  # requests per second to the whole API (MAX: 30)
    per_chat_rate: float | None = None  # messages per second into one chat (MAX: 2)
    retry_after_header: int | None = None  # send `Retry-After` with a 429 (undocumented)
    html_strict: bool = True  # refuse HTML tags MAX would strip (see the docstring)
    attachment_ready_after: float = 0.0  # seconds an uploaded file stays "not ready"
    latency: float = 0.0
    long_poll_cap: float = 1.0  # GET /updates waits at most this long (quick shutdown)
    # Accept a file and an inline keyboard in one message (aiogram-max sends them so; MAX's schema
    # says a file must be the only attachment). False refuses the pair with 400 proto.payload.
    file_with_keyboard: bool = True

    received: list[Received] = field(default_factory=list)
    messages: dict[str, StoredMessage] = field(default_factory=dict)  # by mid
    answers: list[dict[str, Any]] = field(default_factory=list)  # POST /answers bodies
    delivered: Counter[int] = field(default_factory=Counter)  # new messages per chat id
    delivered_texts: Counter[tuple[int, str]] = field(default_factory=Counter)
    stripped_tags: list[str] = field(default_factory=list)
    too_many_requests: int = 0
    stopped: set[int] = field(default_factory=set)  # users who stopped the bot (403)

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []  # index + 1 is the update's position
        self._read = 0  # positions below this were read (a marker was passed beyond them)
        self._new_update = asyncio.Event()
        self._mids = itertools.count(1)
        self._callbacks = itertools.count(1)
        self._uploads_seq = itertools.count(1)
        self._dialogs: dict[int, int] = {}  # user id → dialog chat id
        self._dialog_users: dict[int, int] = {}  # dialog chat id → user id
        self._users: dict[int, dict[str, Any]] = {}
        self._callback_messages: dict[str, str] = {}  # callback id → mid
        self._answered: set[str] = set()
        self._uploads: dict[str, _Upload] = {}  # upload id → upload
        self._tokens: dict[str, _Upload] = {}  # attachment token → upload
        self._window: deque[float] = deque()
        self._chat_windows: dict[int, deque[float]] = {}
        self._injected: deque[_Injected] = deque()
        self.subscriptions: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []  # PATCH /me/commands
        self.listeners: list[Any] = []  # called with every new message the bot sent

    # --- lifetime (bot/local_server.py) ------------------------------------------------
    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._handle)

    # --- scripting: what users do ---------------------------------------------------
    def user(self, user_id: int, first_name: str = "Тест") -> dict[str, Any]:
        """Register a user (and their dialog with the bot); returns MAX's User object."""
        if user_id not in self._users:
            self._users[user_id] = {
                "user_id": user_id,
                "first_name": first_name,
                "last_name": None,
                "name": first_name,
                "username": None,
                "is_bot": False,
                "last_activity_time": self._now_ms(),
            }
            chat_id = DIALOG_BASE + len(self._dialogs) + 1
            self._dialogs[user_id] = chat_id
            self._dialog_users[chat_id] = user_id
        return self._users[user_id]

    def dialog_of(self, user_id: int) -> int:
        """The chat id of the dialog between the bot and `user_id` (not the user id)."""
        self.user(user_id)
        return self._dialogs[user_id]

    def bot_started(self, user_id: int, payload: str | None = None) -> None:
        """The user pressed «Начать» (or opened a deep link with `?start=payload`)."""
        user = self.user(user_id)
        update: dict[str, Any] = {
            "update_type": "bot_started",
            "timestamp": self._now_ms(),
            "chat_id": self._dialogs[user_id],
            "user": user,
            "user_locale": "ru",
        }
        if payload is not None:
            update["payload"] = payload
        self.stopped.discard(user_id)
        self._push(update)

    def bot_stopped(self, user_id: int) -> None:
        """The user stopped the bot: further messages to them are refused with 403."""
        user = self.user(user_id)
        self.stopped.add(user_id)
        self._push(
            {
                "update_type": "bot_stopped",
                "timestamp": self._now_ms(),
                "chat_id": self._dialogs[user_id],
                "user": user,
                "user_locale": "ru",
            }
        )

    def user_message(self, user_id: int, text: str, attachments: list[dict[str, Any]] | None = None) -> str:
        """The user writes to the bot; returns the new message's mid."""
        user = self.user(user_id)
        message = self._store(
            chat_id=self._dialogs[user_id],
            user_id=user_id,
            sender_id=user_id,
            text=text,
            fmt=None,
            attachments=attachments or [],
        )
        self._push(
            {
                "update_type": "message_created",
                "timestamp": message.timestamp,
                "message": self._render(message, sender=user),
                "user_locale": "ru",
            }
        )
        return message.mid

    def user_file(self, user_id: int, filename: str, data: bytes, text: str = "") -> str:
        """The user sends a document; the bot finds a download URL in the attachment."""
        upload = self._new_upload("file")
        upload.filename, upload.data, upload.uploaded_at = filename, data, 0.0
        attachment = {
            "type": "file",
            "payload": {"url": f"{self.base_url}/files/{upload.token}", "token": upload.token},
            "filename": filename,
            "size": len(data),
        }
        return self.user_message(user_id, text, [attachment])

    def user_image(self, user_id: int, data: bytes, text: str = "") -> str:
        """The user sends a picture (a screenshot); the bot finds a download URL in it."""
        upload = self._new_upload("image")
        upload.filename, upload.data, upload.uploaded_at = "image.png", data, 0.0
        attachment = {
            "type": "image",
            "payload": {"url": f"{self.base_url}/files/{upload.token}", "token": upload.token},
        }
        return self.user_message(user_id, text, [attachment])

    def press(
        self,
        user_id: int,
        message: StoredMessage | str,
        payload: str | None = None,
        *,
        text: str | None = None,
    ) -> str:
        """The user presses a callback button of a bot message (by payload or by its text).

        Returns the callback id. A payload the message does not carry is refused here: a
        person can only press what they see."""
        stored = message if isinstance(message, StoredMessage) else self.messages[message]
        if text is not None:
            button = stored.button(text)
            if button.get("type") != "callback":
                raise ValueError(f"button {text!r} is a {button.get('type')} button, not a callback")
            payload = str(button["payload"])
        payloads = [b.get("payload") for row in stored.keyboard for b in row if b.get("type") == "callback"]
        if payload not in payloads:
            raise ValueError(f"message {stored.mid} has no callback button with payload {payload!r}")
        user = self.user(user_id)
        callback_id = f"cb.{next(self._callbacks):08d}"
        self._callback_messages[callback_id] = stored.mid
        self._push(
            {
                "update_type": "message_callback",
                "timestamp": self._now_ms(),
                "callback": {
                    "timestamp": self._now_ms(),
                    "callback_id": callback_id,
                    "payload": payload,
                    "user": user,
                },
                "message": self._render(stored),
                "user_locale": "ru",
            }
        )
        return callback_id

    def inject(self, status: int, code: str, message: str = "", *, endpoint: str | None = None) -> None:
        """Answer the next request (of `endpoint`, e.g. "POST /messages") with an error."""
        self._injected.append(_Injected(endpoint, status, code, message or code))

    # --- inspection -------------------------------------------------------------------
    def sent(self, user_id: int | None = None, *, chat_id: int | None = None) -> list[StoredMessage]:
        """Messages the bot sent (as they are now, edits applied), oldest first."""
        if user_id is not None:
            chat_id = self._dialogs.get(user_id, -1)
        return [
            m
            for m in self.messages.values()
            if m.sender_id == BOT_ID and (chat_id is None or m.chat_id == chat_id)
        ]

    def last(self, user_id: int) -> StoredMessage:
        sent = self.sent(user_id)
        if not sent:
            raise AssertionError(f"the bot sent nothing to user {user_id}")
        return sent[-1]

    def buttons(self, user_id: int) -> list[list[str]]:
        """The button texts, row by row, of the newest message the bot sent to `user_id`."""
        return [[str(b.get("text")) for b in row] for row in self.last(user_id).keyboard]

    def refused(self) -> list[Received]:
        return [r for r in self.received if r.status >= 400]

    def requests(self, endpoint: str) -> list[Received]:
        return [r for r in self.received if r.endpoint == endpoint]

    def duplicates(self) -> int:
        return sum(n - 1 for n in self.delivered_texts.values() if n > 1)

    def uploaded(self, token: str) -> bytes | None:
        upload = self._tokens.get(token)
        return upload.data if upload else None

    def file_name(self, token: str) -> str | None:
        """The name a file was uploaded under (what the parent sees on the attachment)."""
        upload = self._tokens.get(token)
        return upload.filename if upload else None

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("the MAX stand-in did not see what was expected")
            await asyncio.sleep(0.02)

    # --- HTTP -------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body: Any = None
        record = Received(request.method, path, dict(request.query), None, time.monotonic())
        self.received.append(record)
        try:
            if path.startswith("/upload/"):  # the upload host: no token, multipart
                return await self._upload_data(request, path.removeprefix("/upload/"), record)
            if path.startswith("/files/"):  # downloads of files users sent
                return self._download(path.removeprefix("/files/"))
            self._authorise(request)
            if request.can_read_body:
                raw = await request.read()
                if raw:
                    try:
                        body = json.loads(raw)
                    except ValueError as exc:
                        raise _bad("the body is not JSON") from exc
            record.body = body
            self._take_injected(record.endpoint)
            if record.endpoint != "GET /updates":
                self._take_rate_slot()
            if self.latency:
                await asyncio.sleep(self.latency)
            result = await self._route(record, body)
            return web.json_response(result)
        except MaxRefusal as exc:
            record.status, record.error = exc.status, f"{exc.code}: {exc.message}"
            headers = {}
            if exc.status == 429 and self.retry_after_header is not None:
                headers["Retry-After"] = str(self.retry_after_header)
            return web.json_response(
                {"code": exc.code, "message": exc.message}, status=exc.status, headers=headers
            )

    def _authorise(self, request: web.Request) -> None:
        if "access_token" in request.query:
            raise MaxRefusal(401, "verify.token", "access_token in the query is no longer supported")
        if request.headers.get("Authorization") != self.token:
            raise MaxRefusal(401, "verify.token", "Invalid access_token")

    def _take_injected(self, endpoint: str) -> None:
        for item in list(self._injected):
            if item.endpoint in (None, endpoint):
                self._injected.remove(item)
                if item.status == 429:
                    self.too_many_requests += 1
                raise MaxRefusal(item.status, item.code, item.message)

    def _take_rate_slot(self) -> None:
        """A strict window: at most `rate_limit` requests in any one second."""
        if self.rate_limit is None:
            return
        now = time.monotonic()
        while self._window and now - self._window[0] >= 1.0:
            self._window.popleft()
        if len(self._window) >= self.rate_limit:
            self.too_many_requests += 1
            raise MaxRefusal(429, "too.many.requests", "Too many requests")
        self._window.append(now)

    def _take_chat_slot(self, chat_id: int) -> None:
        if self.per_chat_rate is None:
            return
        window = self._chat_windows.setdefault(chat_id, deque())
        now = time.monotonic()
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= self.per_chat_rate:
            self.too_many_requests += 1
            raise MaxRefusal(429, "too.many.requests", f"Too many messages to chat {chat_id}")
        window.append(now)

    async def _route(self, record: Received, body: Any) -> Any:
        endpoint, query = record.endpoint, record.query
        if endpoint == "GET /me":
            return self._bot_info()
        if endpoint == "PATCH /me/commands":
            commands = body.get("commands") if isinstance(body, dict) else None
            if not isinstance(commands, list) or len(commands) > 32:
                raise _bad("commands: a list of at most 32")
            self.commands = commands
            return {"commands": commands}
        if endpoint == "GET /updates":
            return await self._get_updates(query)
        if endpoint == "POST /messages":
            return self._send(query, body)
        if endpoint == "PUT /messages":
            return self._edit(query, body)
        if endpoint == "DELETE /messages":
            mid = self._require(query, "message_id")
            if self.messages.pop(mid, None) is None:
                raise MaxRefusal(404, "not.found", f"message {mid} not found")
            return {"success": True}
        if endpoint == "GET /messages/{mid}":
            mid = record.path.removeprefix("/messages/")
            if mid not in self.messages:
                raise MaxRefusal(404, "not.found", f"message {mid} not found")
            return self._render(self.messages[mid])
        if endpoint == "POST /answers":
            return self._answer(query, body)
        if endpoint == "POST /uploads":
            return self._get_upload_url(query)
        if endpoint == "POST /chats/{id}/actions":
            return {"success": True}
        if endpoint == "GET /subscriptions":
            return {"subscriptions": self.subscriptions}
        if endpoint == "POST /subscriptions":
            if not isinstance(body, dict) or not str(body.get("url", "")).startswith("https://"):
                raise _bad("a webhook url must be https")
            self.subscriptions = [
                {"url": body["url"], "time": self._now_ms(), "update_types": body.get("update_types")}
            ]
            return {"success": True}
        if endpoint == "DELETE /subscriptions":
            self.subscriptions = [s for s in self.subscriptions if s["url"] != query.get("url")]
            return {"success": True}
        raise MaxRefusal(404, "not.found", f"{endpoint} is not served by the MAX stand-in")

    # --- methods ------------------------------------------------------------------------
    def _bot_info(self) -> dict[str, Any]:
        return {
            "user_id": BOT_ID,
            "first_name": BOT_NAME,
            "last_name": None,
            "name": BOT_NAME,
            "username": BOT_USERNAME,
            "is_bot": True,
            "last_activity_time": self._now_ms(),
            "description": None,
            "avatar_url": None,
            "full_avatar_url": None,
            "commands": None,
        }

    async def _get_updates(self, query: dict[str, str]) -> dict[str, Any]:
        if self.subscriptions:
            raise MaxRefusal(405, "method.not.allowed", "the bot has a webhook subscription")
        limit = self._int(query, "limit", 100, 1, UPDATES_LIMIT_MAX)
        timeout = self._int(query, "timeout", 30, 0, UPDATES_TIMEOUT_MAX)
        if query.get("marker") not in (None, "", "null"):
            marker = self._int(query, "marker", 0, 0, 2**63 - 1)
            self._read = max(self._read, min(marker - 1, len(self._updates)))
        types = {t for t in (query.get("types") or "").split(",") if t}
        if self._read >= len(self._updates):
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout=min(timeout, self.long_poll_cap))
        batch = self._updates[self._read : self._read + limit]
        marker = self._read + len(batch) + 1  # the next expected update
        if types:
            batch = [u for u in batch if u["update_type"] in types]
        return {"updates": batch, "marker": marker}

    def _send(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        user_id, chat_id = query.get("user_id"), query.get("chat_id")
        if (user_id is None) == (chat_id is None):
            raise _bad("pass exactly one of user_id and chat_id")
        if user_id is not None:
            uid = self._as_int(user_id, "user_id")
            if uid not in self._dialogs:
                raise MaxRefusal(404, "chat.not.found", f"no dialog with user {uid}")
            target_chat, target_user = self._dialogs[uid], uid
        else:
            cid = self._as_int(str(chat_id), "chat_id")
            if cid not in self._dialog_users:
                raise MaxRefusal(404, "chat.not.found", f"chat {cid} not found")
            target_chat, target_user = cid, self._dialog_users[cid]
        if target_user in self.stopped:
            raise MaxRefusal(403, "chat.denied", "the user stopped the bot")
        text, fmt, attachments = self._check_body(body, editing=False)
        self._take_chat_slot(target_chat)
        message = self._store(
            chat_id=target_chat,
            user_id=target_user,
            sender_id=BOT_ID,
            text=text or "",
            fmt=fmt,
            attachments=attachments,
        )
        self.delivered[target_chat] += 1
        self.delivered_texts[(target_chat, message.text)] += 1
        for listener in self.listeners:
            listener(message)
        return {"message": self._render(message)}

    def _edit(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        mid = self._require(query, "message_id")
        message = self.messages.get(mid)
        if message is None:
            raise MaxRefusal(404, "not.found", f"message {mid} not found")
        if message.sender_id != BOT_ID:
            raise MaxRefusal(403, "access.denied", "a bot edits only its own messages")
        self._apply_edit(message, body)
        return {"success": True}

    def _apply_edit(self, message: StoredMessage, body: Any) -> None:
        text, fmt, attachments = self._check_body(body, editing=True)
        if text is not None:
            message.text, message.format = text, fmt
        if isinstance(body, dict) and body.get("attachments") is not None:
            message.attachments = attachments  # null: unchanged; []: every attachment removed
        message.edits += 1

    def _answer(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        callback_id = self._require(query, "callback_id")
        if callback_id not in self._callback_messages:
            raise MaxRefusal(404, "not.found", f"callback {callback_id} not found")
        if not isinstance(body, dict) or (body.get("message") is None and not body.get("notification")):
            raise _bad("`message` or `notification` required")
        mid = self._callback_messages[callback_id]
        if body.get("message") is not None:
            message = self.messages.get(mid)
            if message is None:
                raise MaxRefusal(404, "not.found", f"message {mid} not found")
            self._take_chat_slot(message.chat_id)
            self._apply_edit(message, body["message"])
        self._answered.add(callback_id)
        self.answers.append({"callback_id": callback_id, "mid": mid, **body})
        return {"success": True}

    def _get_upload_url(self, query: dict[str, str]) -> dict[str, Any]:
        kind = query.get("type")
        if kind == "photo":
            raise _bad("type=photo is no longer supported, use type=image")
        if kind not in UPLOAD_TYPES:
            raise _bad(f"unknown upload type {kind!r}")
        upload = self._new_upload(kind)
        answer: dict[str, Any] = {"url": f"{self.base_url}/upload/{upload.token}?type={kind}"}
        if kind in {"video", "audio"}:
            answer["token"] = upload.token
        return answer

    async def _upload_data(self, request: web.Request, upload_id: str, record: Received) -> web.Response:
        upload = self._uploads.get(upload_id)
        if upload is None or upload.data is not None:
            record.status = 400
            return web.json_response({"error_code": "upload.url.invalid"}, status=400)  # one file per URL
        if not request.content_type.startswith("multipart/"):
            record.status = 400
            return web.json_response({"error_code": "multipart expected"}, status=400)
        reader = await request.multipart()
        async for part in reader:
            if getattr(part, "name", None) == "data":
                upload.filename = getattr(part, "filename", None)
                upload.data = await part.read()  # type: ignore[union-attr]
        if upload.data is None:
            record.status = 400
            return web.json_response({"error_code": "no field `data`"}, status=400)
        upload.uploaded_at = time.monotonic()
        record.body = {"filename": upload.filename, "size": len(upload.data)}
        if upload.kind == "image":
            return web.json_response({"photos": {"p1": {"token": upload.token}}})
        if upload.kind == "file":
            return web.json_response({"token": upload.token, "fileId": next(self._uploads_seq)})
        return web.json_response({"retval": "ok"})

    def _download(self, token: str) -> web.Response:
        upload = self._tokens.get(token)
        if upload is None or upload.data is None:
            return web.Response(status=404)
        return web.Response(body=upload.data)

    # --- checks: what MAX refuses ---------------------------------------------------------
    def _check_body(self, body: Any, *, editing: bool) -> tuple[str | None, str | None, list[dict[str, Any]]]:
        if not isinstance(body, dict):
            raise _bad("NewMessageBody expected")
        text = body.get("text")
        if text is not None and not isinstance(text, str):
            raise _bad("text must be a string")
        fmt = body.get("format")
        if fmt is not None and fmt not in TEXT_FORMATS:
            raise _bad(f"unknown format {fmt!r} (markdown or html)")
        if text is not None:
            if len(text) > TEXT_LIMIT:
                raise _bad(f"text is {len(text)} characters, at most {TEXT_LIMIT}")
            if fmt == "html":
                text = self._check_html(text)
        attachments = body.get("attachments") or []
        if not isinstance(attachments, list):
            raise _bad("attachments must be a list")
        for attachment in attachments:
            self._check_attachment(attachment, attachments)
        if not editing and not (text or "").strip() and not attachments:
            raise _bad("the message has neither text nor attachments")
        return text, fmt, list(attachments)

    def _check_html(self, text: str) -> str:
        scan = _HtmlScan()
        scan.feed(text)
        scan.close()
        if scan.errors:
            raise _bad(f"html: {scan.errors[0]}")
        if scan.unknown:
            if self.html_strict:
                raise _bad(
                    f"html tag <{scan.unknown[0]}> is not supported by MAX (it would be stripped)",
                )
            self.stripped_tags.extend(scan.unknown)
            pattern = "|".join(re.escape(t) for t in set(scan.unknown))
            text = re.sub(rf"</?(?:{pattern})(?:\s[^>]*)?>", "", text)
        return text

    def _check_attachment(self, attachment: Any, siblings: list[Any]) -> None:
        if not isinstance(attachment, dict) or attachment.get("type") not in ATTACHMENT_TYPES:
            kind = attachment.get("type") if isinstance(attachment, dict) else attachment
            raise _bad(f"unknown attachment type {kind!r}")
        kind = attachment["type"]
        payload = attachment.get("payload")
        if not isinstance(payload, dict):
            raise _bad(f"{kind} attachment without payload")
        if kind == "inline_keyboard":
            if sum(1 for a in siblings if isinstance(a, dict) and a.get("type") == "inline_keyboard") > 1:
                raise _bad("one inline keyboard per message")
            self._check_keyboard(payload.get("buttons"))
            return
        allowed = {"file", "inline_keyboard"} if self.file_with_keyboard else {"file"}
        if kind == "file" and any(isinstance(a, dict) and a.get("type") not in allowed for a in siblings):
            raise _bad("a file must be the only attachment of a message")
        if kind in {"file", "video", "audio"} or (kind == "image" and "token" in payload):
            token = payload.get("token")
            upload = self._tokens.get(str(token))
            if upload is None or (upload.data is None and kind in {"file", "image"}):
                raise MaxRefusal(400, "attachment.token.invalid", f"unknown {kind} token {token!r}")
            if upload.uploaded_at is not None and (
                time.monotonic() - upload.uploaded_at < self.attachment_ready_after
            ):
                raise MaxRefusal(
                    400, "attachment.not.ready", "Key: errors.process.attachment.file.not.processed"
                )

    def _check_keyboard(self, rows: Any) -> None:
        if not isinstance(rows, list) or not rows or not all(isinstance(r, list) for r in rows):
            raise _bad("inline_keyboard.buttons must be rows of buttons")
        if len(rows) > KEYBOARD_MAX_ROWS:
            raise _bad(f"keyboard has {len(rows)} rows, at most {KEYBOARD_MAX_ROWS}")
        total = sum(len(r) for r in rows)
        if total > KEYBOARD_MAX_BUTTONS:
            raise _bad(f"keyboard has {total} buttons, at most {KEYBOARD_MAX_BUTTONS}")
        for number, row in enumerate(rows, 1):
            if not row:
                raise _bad(f"keyboard row {number} is empty")
            wide = any(isinstance(b, dict) and b.get("type") in WIDE_BUTTONS for b in row)
            limit = KEYBOARD_MAX_PER_ROW_WIDE if wide else KEYBOARD_MAX_PER_ROW
            if len(row) > limit:
                raise _bad(f"keyboard row {number} has {len(row)} buttons, at most {limit}")
            for button in row:
                self._check_button(button)

    @staticmethod
    def _check_button(button: Any) -> None:
        if not isinstance(button, dict) or button.get("type") not in BUTTON_TYPES:
            kind = button.get("type") if isinstance(button, dict) else button
            raise _bad(f"unknown button type {kind!r}")
        text = button.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= BUTTON_TEXT_LIMIT:
            raise _bad(f"button text must be 1–{BUTTON_TEXT_LIMIT} characters")
        if button["type"] == "callback":
            payload = button.get("payload")
            if not isinstance(payload, str) or not payload:
                raise _bad("a callback button needs a payload")
            if len(payload) > CALLBACK_PAYLOAD_LIMIT:
                raise _bad(f"callback payload is {len(payload)} characters, at most {CALLBACK_PAYLOAD_LIMIT}")
        if button["type"] == "link":
            url = button.get("url")
            if not isinstance(url, str) or not url or len(url) > LINK_URL_LIMIT:
                raise _bad(f"a link button needs a url of at most {LINK_URL_LIMIT}")

    # --- internals ------------------------------------------------------------------------
    def _push(self, update: dict[str, Any]) -> None:
        self._updates.append(update)
        self._new_update.set()

    def _new_upload(self, kind: str) -> _Upload:
        token = f"tok{next(self._uploads_seq):06d}{kind}"
        upload = _Upload(kind, token)
        self._uploads[token] = upload
        self._tokens[token] = upload
        return upload

    def _store(
        self,
        *,
        chat_id: int,
        user_id: int | None,
        sender_id: int,
        text: str,
        fmt: str | None,
        attachments: list[dict[str, Any]],
    ) -> StoredMessage:
        n = next(self._mids)
        message = StoredMessage(
            mid=f"mid.{chat_id:x}.{n:010d}",
            seq=SEQ_BASE + n,
            chat_id=chat_id,
            user_id=user_id,
            sender_id=sender_id,
            text=text,
            format=fmt,
            attachments=self._stored_attachments(attachments),
            timestamp=self._now_ms(),
        )
        self.messages[message.mid] = message
        return message

    def _stored_attachments(self, attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Attachments as MAX returns them: a file gets its name, size and a download URL."""
        stored = []
        for attachment in attachments:
            item = json.loads(json.dumps(attachment))
            if item.get("type") == "file":
                upload = self._tokens.get(str(item["payload"].get("token")))
                if upload is not None and upload.data is not None:
                    item.setdefault("filename", upload.filename or "file")
                    item.setdefault("size", len(upload.data))
                    item["payload"].setdefault("url", f"{self.base_url}/files/{upload.token}")
            stored.append(item)
        return stored

    def _render(self, message: StoredMessage, sender: dict[str, Any] | None = None) -> dict[str, Any]:
        if sender is None:
            sender = (
                {
                    k: v
                    for k, v in self._bot_info().items()
                    if k
                    in {
                        "user_id",
                        "first_name",
                        "last_name",
                        "name",
                        "username",
                        "is_bot",
                        "last_activity_time",
                    }
                }
                if message.sender_id == BOT_ID
                else self.user(message.sender_id)
            )
        recipient_user = BOT_ID if message.sender_id != BOT_ID else message.user_id
        return {
            "sender": sender,
            "recipient": {"chat_id": message.chat_id, "chat_type": "dialog", "user_id": recipient_user},
            "timestamp": message.timestamp,
            "link": None,
            "body": {
                "mid": message.mid,
                "seq": message.seq,
                "text": html.unescape(re.sub(r"<[^>]+>", "", message.text))
                if message.format == "html"
                else message.text,
                "attachments": message.attachments or None,
                "markup": None,
            },
            "stat": None,
            "url": None,
        }

    @staticmethod
    def _require(query: dict[str, str], name: str) -> str:
        value = query.get(name)
        if not value:
            raise _bad(f"{name} is required")
        return value

    @staticmethod
    def _as_int(value: str, name: str) -> int:
        try:
            return int(value)
        except ValueError as exc:
            raise _bad(f"{name} must be an integer") from exc

    def _int(self, query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
        raw = query.get(name)
        value = default if raw in (None, "") else self._as_int(str(raw), name)
        if not low <= value <= high:
            raise _bad(f"{name} must be within {low}..{high}")
        return value

    @staticmethod
    def _now_ms() -> int:
        return int(time.time() * 1000)
