"""A tiny client that talks to the real dispatcher through LocalBotSession."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.types import Update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.local_api import LocalBotSession, Sent, UpdateFactory, staff_chat_message
from bot.workers.notices import NoticeWorker

PARENT_ID = 1001
ADMIN_ID = 9001
STAFF_CHAT_ID = -1000000000777


class BotTester:
    def __init__(self, app: App) -> None:
        self.app = app
        self.session = LocalBotSession()
        self.bot: Bot = app.bot(session=self.session, token="42:test-token")
        self.factory = UpdateFactory(user_id=PARENT_ID)
        # Messages to other people are outbox rows; after each update the notice worker
        # sends what is due, as the running bot's worker would a moment later.
        self.auto_deliver = True
        self.notices = NoticeWorker(self.bot, app.services["outbox"], group_interval=0, private_interval=0)

    # --- sending --------------------------------------------------------------------
    async def feed(self, update: Update) -> list[Sent]:
        before = len(self.session.sent)
        await self.app.dispatcher.feed_update(self.bot, update)
        if self.auto_deliver:
            await self.deliver()
        return self.session.sent[before:]

    async def deliver(self, settle: float = 0.0) -> None:
        """Let the notice worker send every due notice (hand-offs, staff answers).

        With `settle`, rows waiting for a retry within that many seconds are waited for too."""
        import asyncio
        import time

        deadline = time.monotonic() + settle
        while True:
            await self.notices.drain()
            counts = await self.app.services["outbox"].counts()
            if not counts.get("pending") or time.monotonic() > deadline:
                return
            await asyncio.sleep(0.05)

    async def send(self, text: str | None, user_id: int = PARENT_ID, **kwargs: Any) -> list[Sent]:
        return await self.feed(self.factory.message(text, user_id=user_id, **kwargs))

    async def send_document(
        self, path: Path, user_id: int = PARENT_ID, name: str | None = None
    ) -> list[Sent]:
        file_id = self.session.register_file(path)
        doc = (file_id, name or path.name, path.stat().st_size)
        return await self.feed(self.factory.message(None, user_id=user_id, document=doc))

    async def press(self, message: Sent, data: str, user_id: int = PARENT_ID) -> list[Sent]:
        return await self.feed(self.factory.callback(message, data, user_id=user_id))

    async def click(self, label: str, user_id: int = PARENT_ID, message: Sent | None = None) -> list[Sent]:
        """Press the button whose text contains `label` on the newest message that has one."""
        candidates = [message] if message else reversed(self.session.sent)
        for sent in candidates:
            if sent is None or sent.chat_id not in (user_id, STAFF_CHAT_ID):
                continue
            current = self.session.message(sent.chat_id, sent.message_id) or sent
            for text, data, _url in current.buttons:
                if label in text and data is not None:
                    return await self.press(current, data, user_id=user_id)
        raise AssertionError(f"no button containing {label!r} for user {user_id}")

    async def staff_reply(self, to: Sent, text: str, user_id: int = ADMIN_ID) -> list[Sent]:
        update = self.factory.message(
            text, user_id=user_id, chat_id=to.chat_id, reply_to=staff_chat_message(to)
        )
        return await self.feed(update)

    async def start_and_consent(self, user_id: int = PARENT_ID, municipality: str = "Саянск") -> None:
        """/start, the municipality (first, when there are several), then «Согласен»."""

        def offers_municipality(sent: list[Sent]) -> bool:
            return any(label == municipality for s in sent for label, _data, _url in s.buttons)

        if offers_municipality(await self.send("/start", user_id=user_id)):
            await self.click(municipality, user_id=user_id)
        if offers_municipality(await self.click("Согласен", user_id=user_id)):  # consent came first
            await self.click(municipality, user_id=user_id)

    # --- inspecting -------------------------------------------------------------------
    @property
    def sent(self) -> list[Sent]:
        return self.session.sent

    def last(self, chat_id: int = PARENT_ID) -> Sent:
        for sent in reversed(self.session.sent):
            if sent.chat_id == chat_id:
                return sent
        raise AssertionError(f"nothing was sent to {chat_id}")

    def alerts(self) -> list[str]:
        return [a.text or "" for a in self.session.callback_answers]

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        async with self.app.sessionmaker() as session:
            yield session
            await session.commit()


def texts(sent: list[Sent]) -> str:
    return "\n".join(s.text for s in sent)
