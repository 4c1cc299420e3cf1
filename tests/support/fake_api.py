"""A fake Telegram Bot API server over real HTTP, for end-to-end tests and benchmarks.

It speaks the subset of the Bot API the bot uses (getMe, getUpdates with long
polling, sendMessage, sendPhoto, sendDocument, editMessageText,
editMessageReplyMarkup, answerCallbackQuery, deleteWebhook, setMyCommands,
deleteMessage) on 127.0.0.1 with a random port. The bot reaches it through
TELEGRAM_API_URL (`base_url`).

Options imitate Telegram's limits: a global rate limit on sends (a token bucket
of one second's worth; beyond it the answer is 429 with `retry_after`), an
optional per-chat limit, a latency added to every request, chats that blocked
the bot (403), and errors injected for the next requests. Everything received is
recorded, with a count per chat and per (chat, text) to detect duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.local_server import LocalServer

BOT_ID = 4242
SEND_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument", "copymessage"})


@dataclass
class Received:
    method: str
    params: dict[str, Any]
    at: float
    status: int

    @property
    def chat_id(self) -> int | None:
        raw = self.params.get("chat_id")
        return int(raw) if raw is not None and str(raw).lstrip("-").isdigit() else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        raw = self.params.get("reply_markup")
        return json.loads(raw) if isinstance(raw, str) else None


@dataclass
class _Injected:
    method: str | None
    status: int
    description: str
    retry_after: int | None
    chat_id: int | None


@dataclass
class FakeBotAPI(LocalServer):
    rate_limit: float | None = None  # sends per second for the whole bot
    per_chat_interval: float | None = None  # seconds between two sends into one chat
    retry_after: int = 1
    latency: float = 0.0
    blocked: set[int] = field(default_factory=set)
    long_poll_cap: float = 1.0  # getUpdates waits at most this long (keeps shutdown quick)
    # Strict window: at most `rate_limit` sends in ANY one-second window, no burst allowance
    # (instead of a token bucket that lets a quiet second's tokens be spent at once).
    strict_window: bool = False

    received: list[Received] = field(default_factory=list)
    delivered: Counter[int] = field(default_factory=Counter)  # successful sends per chat
    delivered_texts: Counter[tuple[int, str]] = field(default_factory=Counter)
    too_many_requests: int = 0

    def __post_init__(self) -> None:
        self._updates: deque[dict[str, Any]] = deque()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._new_update = asyncio.Event()
        self._tokens = float(self.rate_limit or 0)
        self._refilled = time.monotonic()
        self._chat_last: dict[int, float] = {}
        self._window: deque[float] = deque()
        # Called with every successful send or edit (benchmarks wait on them per chat).
        self.listeners: list[Any] = []
        self._injected: deque[_Injected] = deque()
        self.first_send_at: float | None = None
        self.last_send_at: float | None = None

    # --- lifetime (bot/local_server.py) ------------------------------------------------
    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)

    # --- scripting --------------------------------------------------------------------
    def push_update(self, update: dict[str, Any]) -> None:
        update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self._new_update.set()

    def user_message(self, user_id: int, text: str) -> None:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Тест"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Тест"},
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        self.push_update({"message": message})

    def press(self, user_id: int, message: Received | dict[str, Any], data: str) -> None:
        """A user presses an inline button of a message the bot sent."""
        msg = message if isinstance(message, dict) else self.message_of(message)
        self.push_update(
            {
                "callback_query": {
                    "id": str(next(self._message_ids)),
                    "from": {"id": user_id, "is_bot": False, "first_name": "Тест"},
                    "chat_instance": "fake",
                    "message": msg,
                    "data": data,
                }
            }
        )

    def message_of(self, received: Received) -> dict[str, Any]:
        for (chat_id, _mid), message in self._messages.items():
            if chat_id == received.chat_id and message.get("_received") is received:
                return {k: v for k, v in message.items() if not k.startswith("_")}
        raise KeyError("that request created no message")

    def inject(self, status: int, description: str, *, method: str | None = None,
               retry_after: int | None = None, chat_id: int | None = None) -> None:  # fmt: skip
        """Answer the next matching request with an error."""
        self._injected.append(
            _Injected(method.lower() if method else None, status, description, retry_after, chat_id)
        )

    def sent(self, method: str | None = None, chat_id: int | None = None) -> list[Received]:
        return [
            r
            for r in self.received
            if r.status == 200
            and (method is None or r.method == method.lower())
            and (chat_id is None or r.chat_id == chat_id)
        ]

    def duplicates(self, texts: set[str] | None = None) -> int:
        """Messages a chat received more than once with the same text."""
        return sum(
            n - 1
            for (_, text), n in self.delivered_texts.items()
            if n > 1 and (texts is None or text in texts)
        )

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("the fake Bot API did not see what was expected")
            await asyncio.sleep(0.02)

    # --- HTTP -------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            data = await request.json()
            return dict(data) if isinstance(data, dict) else {}
        if request.content_type.startswith("multipart/"):
            params: dict[str, Any] = {}
            reader = await request.multipart()
            async for part in reader:
                name = getattr(part, "name", None)
                if name is None:
                    continue
                if getattr(part, "filename", None):
                    params[name] = {"filename": part.filename, "bytes": await part.read()}  # type: ignore[union-attr]
                else:
                    params[name] = await part.text()  # type: ignore[union-attr]
            for key, value in list(params.items()):  # aiogram sends files as "attach://<field>"
                if isinstance(value, str) and value.startswith("attach://"):
                    params[key] = params.pop(value.removeprefix("attach://"), value)
            return params
        form = await request.post()
        return {k: v for k, v in form.items()}

    def _ok(self, result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    def _error(self, status: int, description: str, retry_after: int | None = None) -> web.Response:
        payload: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            payload["parameters"] = {"retry_after": retry_after}
        return web.json_response(payload, status=status)

    def _take_token(self) -> bool:
        if self.rate_limit is None:
            return True
        now = time.monotonic()
        if self.strict_window:
            while self._window and now - self._window[0] >= 1.0:
                self._window.popleft()
            if len(self._window) >= self.rate_limit:
                return False
            self._window.append(now)
            return True
        self._tokens = min(self.rate_limit, self._tokens + (now - self._refilled) * self.rate_limit)
        self._refilled = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        params = await self._params(request)
        record = Received(method, params, time.monotonic(), 200)
        self.received.append(record)
        if method == "getupdates":
            response = await self._get_updates(params)
            if self.latency:
                await asyncio.sleep(self.latency)  # the updates travel to the bot like any answer
            return response
        response = self._check(method, record)
        if self.latency:
            await asyncio.sleep(self.latency)
        if response is not None:
            record.status = response.status
            return response
        answer = self._answer(method, record)
        record.status = answer.status
        if answer.status == 200 and self.listeners and record.chat_id is not None:
            for listener in self.listeners:
                listener(record)
        return answer

    def _check(self, method: str, record: Received) -> web.Response | None:
        chat_id = record.chat_id
        for item in list(self._injected):
            if item.method in (None, method) and item.chat_id in (None, chat_id):
                self._injected.remove(item)
                if item.status == 429:
                    self.too_many_requests += 1
                return self._error(item.status, item.description, item.retry_after)
        if method not in SEND_METHODS:
            return None
        if not self._take_token():
            self.too_many_requests += 1
            return self._error(429, f"Too Many Requests: retry after {self.retry_after}", self.retry_after)
        if chat_id is not None and self.per_chat_interval is not None:
            last = self._chat_last.get(chat_id)
            now = time.monotonic()
            if last is not None and now - last < self.per_chat_interval:
                self.too_many_requests += 1
                return self._error(
                    429, f"Too Many Requests: retry after {self.retry_after}", self.retry_after
                )
            self._chat_last[chat_id] = now
        if chat_id in self.blocked:
            return self._error(403, "Forbidden: bot was blocked by the user")
        return None

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset") or 0)
        while self._updates and self._updates[0]["update_id"] < offset:
            self._updates.popleft()
        if not self._updates:
            self._new_update.clear()
            timeout = min(float(params.get("timeout") or 0), self.long_poll_cap)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout=timeout)
        return self._ok(list(self._updates))

    def _message(self, chat_id: int, record: Received, **extra: Any) -> dict[str, Any]:
        chat: dict[str, Any] = (
            {"id": chat_id, "type": "private", "first_name": "Тест"}
            if chat_id > 0
            else {"id": chat_id, "type": "supergroup", "title": "Сотрудники"}
        )
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "mocbot", "username": "mocbot_test_bot"},
            **extra,
        }
        if record.reply_markup:
            message["reply_markup"] = record.reply_markup
        self._messages[(chat_id, message["message_id"])] = {**message, "_received": record}
        return message

    def _answer(self, method: str, record: Received) -> web.Response:
        p = record.params
        chat_id = record.chat_id
        if method == "getme":
            return self._ok(
                {"id": BOT_ID, "is_bot": True, "first_name": "mocbot", "username": "mocbot_test_bot"}
            )
        if method in {"deletewebhook", "setmycommands", "answercallbackquery", "deletemessage"}:
            return self._ok(True)
        if method in SEND_METHODS and chat_id is not None:
            now = time.monotonic()
            self.first_send_at = self.first_send_at or now
            self.last_send_at = now
            self.delivered[chat_id] += 1
            self.delivered_texts[(chat_id, record.text)] += 1
            if method == "sendmessage":
                return self._ok(self._message(chat_id, record, text=p.get("text", "")))
            if method == "sendphoto":
                photo = [{"file_id": "fake-photo-1", "file_unique_id": "fp1", "width": 640, "height": 480}]
                return self._ok(self._message(chat_id, record, photo=photo, caption=p.get("caption", "")))
            doc = p.get("document")
            name = doc.get("filename") if isinstance(doc, dict) else "file"
            document = {"file_id": f"fake-doc-{record.at}", "file_unique_id": "fd", "file_name": name}
            return self._ok(self._message(chat_id, record, document=document, caption=p.get("caption", "")))
        if method in {"editmessagetext", "editmessagereplymarkup"} and chat_id is not None:
            key = (chat_id, int(p.get("message_id") or 0))
            old = self._messages.get(key)
            if old is None:
                return self._error(400, "Bad Request: message to edit not found")
            text = p.get("text", old.get("text", "")) if method == "editmessagetext" else old.get("text", "")
            markup = record.reply_markup
            if text == old.get("text") and markup == old.get("reply_markup"):
                return self._error(400, "Bad Request: message is not modified")
            new = {k: v for k, v in old.items() if not k.startswith("_") and k != "reply_markup"}
            new["text"] = text
            if markup:
                new["reply_markup"] = markup
            self._messages[key] = {**new, "_received": old["_received"]}
            return self._ok(new)
        return self._error(400, f"Bad Request: method {method} is not supported by the fake server")
