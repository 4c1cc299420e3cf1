"""Factories for the bot, the dispatcher and the objects that live as long as they do.

Nothing is created at import time: `create_app()` builds everything from Settings.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import BotCommand
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.content import ContentStore
from bot.middlewares import ConsentGate, DbSessionMiddleware, RoleGuard, ThrottlingMiddleware, UserMiddleware
from bot.middlewares.answer import AnsweredTracker, AutoAnswerMiddleware
from bot.sender import LocalSendLimiter, SenderMiddleware
from bot.services.catalogue import CatalogueService
from bot.services.users import SeenWriter, UserService
from bot.settings import Settings
from db.engine import create_engine
from db.uow import Database

logger = logging.getLogger(__name__)

PUBLIC_COMMANDS = [
    ("start", "Начать и главное меню"),
    ("search", "Найти кружок или секцию"),
    ("events", "Мероприятия и дни открытых дверей"),
    ("subscribe", "Подписаться на новости"),
    ("settings", "Настройки"),
    ("ask", "Вопрос специалисту"),
    ("help", "Справка"),
    ("mydata", "Мои данные"),
    ("forget", "Удалить мои данные"),
    ("cancel", "Отменить действие"),
]


def create_sender(settings: Settings) -> SenderMiddleware:
    """The one way out: Telegram's limits for every request of every bot of this process."""
    return SenderMiddleware(LocalSendLimiter(settings.telegram_rate))


def create_bot(
    settings: Settings,
    session: BaseSession | None = None,
    token: str | None = None,
    sender: SenderMiddleware | None = None,
) -> Bot:
    """A Bot with HTML parse mode whose every request passes the sender (bot/sender.py).

    TELEGRAM_API_URL points it at another Bot API server."""
    if session is None:
        session = (
            AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
            if settings.telegram_api_url
            else AiohttpSession()
        )
    if token is None:
        if settings.bot_token is None:
            raise ValueError("BOT_TOKEN is not set")
        token = settings.bot_token.get_secret_value()
    session.middleware(sender or create_sender(settings))
    session.middleware(AnsweredTracker())
    return Bot(token=token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def create_storage(settings: Settings) -> BaseStorage:
    """FSM storage: Redis when REDIS_URL is set (several instances), memory otherwise."""
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(settings.redis_url)
    return MemoryStorage()


@dataclass
class App:
    """Everything that lives as long as the bot process."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    content: ContentStore
    scheduler: AsyncIOScheduler
    dispatcher: Dispatcher
    database: Database
    sender: SenderMiddleware
    services: dict[str, Any]

    def bot(self, session: BaseSession | None = None, token: str | None = None) -> Bot:
        """A Bot that shares this app's sender (one rate limit for the whole process)."""
        return create_bot(self.settings, session=session, token=token, sender=self.sender)


def create_dispatcher(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    content: ContentStore,
    scheduler: AsyncIOScheduler | None = None,
    storage: BaseStorage | None = None,
    *,
    users: UserService,
    seen: SeenWriter | None = None,
    **extra: Any,
) -> Dispatcher:
    from bot.features import load_features
    from handlers import get_routers

    load_features()
    scheduler = scheduler or AsyncIOScheduler(timezone="UTC")
    dp = Dispatcher(
        storage=storage or create_storage(settings),
        settings=settings,
        sessionmaker=sessionmaker,
        content=content,
        scheduler=scheduler,
        users=users,
        **extra,
    )
    # Order matters: throttle before any work, then a DB session, then the user and role.
    dp.update.outer_middleware(ThrottlingMiddleware(settings.throttle_rate, settings.throttle_burst))
    dp.update.outer_middleware(DbSessionMiddleware(sessionmaker))
    dp.update.outer_middleware(UserMiddleware(users, seen))
    for observer in (dp.message, dp.callback_query):
        observer.middleware(RoleGuard())
        observer.middleware(ConsentGate())
    dp.callback_query.outer_middleware(AutoAnswerMiddleware())
    dp.include_routers(*get_routers())
    return dp


async def set_commands(bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command=c, description=d) for c, d in PUBLIC_COMMANDS])


def create_app(settings: Settings, storage: BaseStorage | None = None) -> App:
    """Build the engine, content, scheduler and dispatcher (content errors raise here)."""
    content = ContentStore(settings.content_dir, settings.default_municipality)
    engine = create_engine(settings.database_url)
    database = Database(engine)
    sessionmaker = database.sessionmaker
    scheduler = AsyncIOScheduler(timezone="UTC")
    sender = create_sender(settings)
    seen = SeenWriter(database)
    services: dict[str, Any] = {
        "users": UserService(database, settings),
        "catalogue": CatalogueService(database, settings),
    }
    dp = create_dispatcher(
        settings, sessionmaker, content, scheduler=scheduler, storage=storage, seen=seen, database=database,
        **services,
    )
    app = App(settings, engine, sessionmaker, content, scheduler, dp, database, sender, services)
    from bot.services.activity import ActivityWriter
    from bot.services.announcements.delivery import DeliveryWorker

    workers: list[DeliveryWorker] = []
    activity_writers: list[ActivityWriter] = []

    async def on_startup(bot: Bot) -> None:
        await set_commands(bot)
        if "faq" in content.current.sections:
            from bot.services.faq.engine import engine_for

            # Build the FAQ index (and train its classifier) before the first question, off the loop.
            await asyncio.to_thread(engine_for, content)
        if not scheduler.running:
            scheduler.start()
        await seen.start()
        if not activity_writers:
            # Activity rows leave the update's transaction and are written in batches.
            activity_writers.append(ActivityWriter(database))
            await activity_writers[-1].start()
        from bot.local_api import LocalBotSession

        if isinstance(bot.session, LocalBotSession) and settings.bot_token is not None:
            # A console next to a configured bot: the real bot delivers from this database.
            logger.info("local console with BOT_TOKEN set: the delivery worker is not started")
        else:
            workers.append(DeliveryWorker(bot, sessionmaker, settings))  # broadcasts and reminders
            await workers[-1].start()
        logger.info("mocbot started")

    async def on_shutdown() -> None:
        while workers:
            await workers.pop().stop()
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await seen.stop()
        while activity_writers:
            await activity_writers.pop().stop()  # writes every buffered row
        await dp.storage.close()
        await sender.limiter.close()
        await engine.dispose()
        logger.info("mocbot stopped")

    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
    return app
