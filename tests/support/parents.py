"""One parent, in either messenger: the scenario suite runs the same steps in Telegram and MAX.

`TelegramParent` drives the dispatcher through the in-process Telegram stand-in
(bot/local_api.py); `MaxParent` through the MAX stand-in over HTTP (bot/local_max_api.py),
the MAX session and the inbound translation, exactly as the running bot does. Both show
what the parent would see: each message's text (HTML as sent), its button labels and an
attached file. Staff always work in Telegram (`BotTester`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from bot.channels import Channel
from bot.channels.max.local import Change, LocalMax, MaxUser, local_max
from bot.local_max_api import StoredMessage
from tests.support.client import BotTester


@dataclass(frozen=True)
class Shown:
    """One message as the parent sees it."""

    text: str
    buttons: tuple[str, ...] = ()
    file_name: str | None = None
    file_bytes: bytes | None = None


class Parent(Protocol):
    channel: Channel
    id: int  # the internal id: what the database keys the person by

    async def send(self, text: str) -> list[Shown]: ...

    async def click(self, label: str) -> list[Shown]: ...

    def last(self) -> Shown: ...

    def alerts(self) -> list[str]: ...


def joined(shown: list[Shown]) -> str:
    return "\n".join(s.text for s in shown)


class TelegramParent:
    channel = Channel.TELEGRAM

    def __init__(self, tester: BotTester, user_id: int) -> None:
        self.tester = tester
        self.id = user_id

    @staticmethod
    def _shown(sent: list[object]) -> list[Shown]:
        result = []
        for s in sent:
            result.append(
                Shown(
                    text=getattr(s, "text", ""),
                    buttons=tuple(b[0] for b in getattr(s, "buttons", [])),
                    file_name=getattr(s, "file_name", None),
                    file_bytes=getattr(s, "file_bytes", None),
                )
            )
        return result

    def _mine(self, sent: list[object]) -> list[Shown]:
        return self._shown([s for s in sent if getattr(s, "chat_id", None) == self.id])

    async def send(self, text: str) -> list[Shown]:
        return self._mine(await self.tester.send(text, user_id=self.id))

    async def click(self, label: str) -> list[Shown]:
        return self._mine(await self.tester.click(label, user_id=self.id))

    def last(self) -> Shown:
        sent = self.tester.last(self.id)
        current = self.tester.session.message(sent.chat_id, sent.message_id) or sent
        return self._shown([current])[0]

    def alerts(self) -> list[str]:
        return self.tester.alerts()


# --- MAX -------------------------------------------------------------------------------------------
MAX_USER = 5_550_001  # the parent's MAX user id (the stand-in's numbering)


class MaxParent:
    """A parent in MAX: writes and presses through the stand-in; the bot's MAX session sends
    through the same stand-in, and the poller feeds the translated updates to the dispatcher
    (bot/channels/max/local.py, shared with the console's `--channel max`)."""

    channel = Channel.MAX

    def __init__(self, tester: BotTester, side: LocalMax, user: int) -> None:
        self.tester = tester
        self.side = side
        self.api = side.api
        self.bot = side.bot
        self.polling = side.polling
        self.user = user
        self.person = MaxUser(side, user, after=self._deliver)
        self.id = self.person.id

    async def _deliver(self) -> None:
        """The tester's notice worker sends what the handlers queued (unless a test holds it)."""
        if self.tester.auto_deliver:
            await self.tester.deliver()

    async def settle(self) -> None:
        """Feed every update the stand-in holds and wait until each is handled, then let the
        notice worker send what the handlers queued."""
        await self.person.settle()

    def _shown(self, message: StoredMessage) -> Shown:
        files = self.person.files(message)
        name, data = files[-1] if files else (None, None)
        labels = tuple(str(b.get("text")) for row in message.keyboard for b in row)
        return Shown(text=message.text, buttons=labels, file_name=name, file_bytes=data)

    def _all(self, changes: list[Change]) -> list[Shown]:
        return [self._shown(c.message) for c in changes]

    async def send(self, text: str) -> list[Shown]:
        return self._all(await self.person.write(text))

    async def click(self, label: str) -> list[Shown]:
        for message in reversed(self.api.sent(self.user)):
            for row in message.keyboard:
                for button in row:
                    if label in str(button.get("text")) and button.get("type") == "callback":
                        return self._all(await self.person.press(message, str(button.get("text"))))
        raise AssertionError(f"no MAX button containing {label!r} for user {self.user}")

    def last(self) -> Shown:
        return self._shown(self.api.last(self.user))

    def alerts(self) -> list[str]:
        return [str(a.get("notification")) for a in self.api.answers if a.get("notification")]


@asynccontextmanager
async def max_parent(
    tester: BotTester, user: int = MAX_USER, reuse: MaxParent | None = None
) -> AsyncIterator[MaxParent]:
    """A MAX parent beside `tester`'s Telegram side: the app's MAX bot against a strict stand-in;
    the tester's notice worker sends MAX rows through it (staff answers, hand-off notes).
    With `reuse`, another parent of the same stand-in and bot."""
    if reuse is not None:
        yield MaxParent(tester, reuse.side, user)
        return
    async with local_max(tester.app) as side:
        tester.notices.bots[Channel.MAX] = side.bot
        tester.app.channel_bots.setdefault(Channel.TELEGRAM, tester.bot)  # as on_startup does
        yield MaxParent(tester, side, user)
        api = side.api
        assert not api.refused(), [f"{r.endpoint} {r.status} {r.error}" for r in api.refused()]
