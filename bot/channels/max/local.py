"""The MAX side played in one process: the MAX stand-in, the app's MAX bot and its poller.

`local_max(app)` starts a strict stand-in (bot/local_max_api.py), the app's MAX bot against it
(registered for the workers, so notices and broadcasts to MAX people go through it) and a
poller feeding the dispatcher. `MaxUser` is one person there: they start the bot, write, press
buttons and send files through the stand-in, and each step returns what changed in their
dialog — messages edited, then new ones — once every update is handled. The console's
`--channel max` and the tests' `MaxParent` both drive MAX parents this way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiogram import Bot

from bot.channels import Channel, internal_id
from bot.channels.max.polling import MaxPolling
from bot.local_max_api import BOT_ID, FakeMaxAPI, StoredMessage

if TYPE_CHECKING:
    from bot.app import App

After = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class LocalMax:
    """The stand-in, the MAX bot that talks to it and the poller that feeds the dispatcher."""

    api: FakeMaxAPI
    bot: Bot
    polling: MaxPolling

    async def settle(self) -> None:
        """Feed every update the stand-in holds and wait until each is handled."""
        while await self.polling.poll_once():
            await self.polling.idle()
        await self.polling.idle()


@asynccontextmanager
async def local_max(app: App, *, html_strict: bool = True) -> AsyncIterator[LocalMax]:
    """The MAX side for `app`; create it before the dispatcher's startup so the workers
    started there know the MAX bot."""
    async with FakeMaxAPI(long_poll_cap=0.0, html_strict=html_strict) as api:
        bot = await app.max_bot(token=api.token, api_url=api.base_url, bot_id=BOT_ID)
        polling = MaxPolling(bot, app.dispatcher, timeout=0)
        try:
            yield LocalMax(api, bot, polling)
        finally:
            await polling.stop()
            await bot.session.close()


@dataclass(frozen=True)
class Change:
    """A message of the bot in the person's dialog that a step created or edited."""

    message: StoredMessage
    edited: bool


class MaxUser:
    """One person in MAX (by their MAX user id). `after` runs once the updates of a step are
    handled (e.g. the notice worker sending what the handlers queued)."""

    channel = Channel.MAX

    def __init__(self, side: LocalMax, user: int, *, after: After | None = None) -> None:
        self.side = side
        self.api = side.api
        self.user = user
        self.id = internal_id(Channel.MAX, user)
        self.after = after

    async def settle(self) -> None:
        await self.side.settle()
        if self.after is not None:
            await self.after()
            await self.side.settle()  # what the notices set off (none today, but cheap)

    async def step(self, act: Callable[[], object]) -> list[Change]:
        before = {m.mid: m.edits for m in self.api.sent(self.user)}
        act()
        await self.settle()
        after = self.api.sent(self.user)
        edited = [Change(m, True) for m in after if m.mid in before and m.edits != before[m.mid]]
        new = [Change(m, False) for m in after if m.mid not in before]
        return [*edited, *new]

    async def write(self, text: str) -> list[Change]:
        """A message from the person; `/start` is MAX's «Начать» (bot_started), as in MAX."""
        if text == "/start":
            return await self.step(lambda: self.api.bot_started(self.user))
        return await self.step(lambda: self.api.user_message(self.user, text))

    async def press(self, message: StoredMessage, text: str) -> list[Change]:
        """Press the callback button labelled `text` of `message`."""
        return await self.step(lambda: self.api.press(self.user, message, text=text))

    async def send_file(self, name: str, data: bytes) -> list[Change]:
        return await self.step(lambda: self.api.user_file(self.user, name, data))

    def files(self, message: StoredMessage) -> list[tuple[str | None, bytes | None]]:
        """Name and bytes of each file attached to `message`, as the person would download it."""
        result = []
        for attachment in message.files:
            token = str((attachment.get("payload") or {}).get("token") or "")
            raw = self.api.uploaded(token)
            name = self.api.file_name(token) or attachment.get("filename")
            result.append((str(name) if name else None, bytes(raw) if raw is not None else None))
        return result
