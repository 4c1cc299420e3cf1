"""Factories for the bot, the dispatcher and the objects that live as long as they do.

Nothing is created at import time: `create_app()` builds everything from Settings.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
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

from bot.channels import Channel
from bot.content import Content, ContentStore
from bot.middlewares import ConsentGate, RoleGuard, ThrottlingMiddleware, UserMiddleware
from bot.middlewares.answer import AnsweredTracker, AutoAnswerMiddleware
from bot.sender import LocalSendLimiter, SenderMiddleware
from bot.services.announcements.broadcasts import BroadcastService
from bot.services.announcements.delivery import DeliveryService
from bot.services.announcements.events import EventService
from bot.services.announcements.subscriptions import SubscriptionService
from bot.services.catalogue import CatalogueService
from bot.services.faq.service import FaqService
from bot.services.outbox import OutboxService
from bot.services.outreach.service import OutreachLogService, ReportService
from bot.services.plugins import FeatureParts
from bot.services.privacy import PrivacyService
from bot.services.report_sources import collect as collect_sources
from bot.services.users import SeenWriter, UserService
from bot.settings import Settings
from bot.wiring import content_sections, feature_parts
from bot.workers.broadcasts import BroadcastWorker
from bot.workers.notices import NoticeWorker
from db.engine import create_engine
from db.repositories.activity import ActivityWriter
from db.uow import Database

logger = logging.getLogger(__name__)

# The bot's command menu, in this order; each description is content common.command_<name>.
PUBLIC_COMMANDS = (
    "start", "search", "events", "subscribe", "settings", "ask", "help", "mydata", "forget", "cancel",
)  # fmt: skip


def create_sender(settings: Settings) -> SenderMiddleware:
    """The one way out: Telegram's limits for every request of every bot of this process."""
    return SenderMiddleware(LocalSendLimiter(settings.telegram_rate))


def create_max_sender(settings: Settings) -> SenderMiddleware:
    """MAX's own limit: 30 requests a second for every request of the bot, not only messages."""
    return SenderMiddleware(LocalSendLimiter(settings.max_rate), count_all_requests=True)


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
    parts: list[FeatureParts] = field(default_factory=list)
    notice_workers: list[NoticeWorker] = field(default_factory=list)
    max_sender: SenderMiddleware | None = None
    # Bots of channels other than Telegram that the workers send through (set by the runner).
    channel_bots: dict[Channel, Bot] = field(default_factory=dict)
    # Run first at shutdown, before the workers stop and the database closes (MAX's inbound).
    stop_first: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def drain_notices(self) -> None:
        """Send the notices due now (the console shows a hand-off right after the question)."""
        for worker in self.notice_workers:
            await worker.drain()

    def bot(self, session: BaseSession | None = None, token: str | None = None) -> Bot:
        """A Bot that shares this app's sender (one rate limit for the whole process)."""
        return create_bot(self.settings, session=session, token=token, sender=self.sender)

    async def max_bot(
        self, token: str | None = None, api_url: str | None = None, bot_id: int | None = None
    ) -> Bot:
        """The MAX bot: an aiogram Bot whose session speaks MAX (bot/channels/max), with MAX's
        own sender (its rate, every request counted). Registered for the workers."""
        from bot.channels.max.factory import create_max_bot

        if token is None:
            if self.settings.max_bot_token is None:
                raise ValueError("MAX_BOT_TOKEN is not set")
            token = self.settings.max_bot_token.get_secret_value()
        if self.max_sender is None:
            self.max_sender = create_max_sender(self.settings)

        async def telegram_file(file_id: str) -> bytes:
            """A Telegram file (an event's photo staff uploaded) for a MAX parent."""
            telegram = self.channel_bots.get(Channel.TELEGRAM)
            if telegram is None:
                raise LookupError("no Telegram bot to fetch a file from")
            buffer = await telegram.download(file_id)
            if buffer is None:
                raise LookupError(f"Telegram file {file_id[:12]}… could not be downloaded")
            return buffer.read()

        bot = await create_max_bot(
            token,
            api_url or self.settings.max_api_url,
            sender_middleware=self.max_sender,
            bot_id=bot_id,
            foreign_file=telegram_file,
        )
        bot.session.middleware(AnsweredTracker())
        self.channel_bots[Channel.MAX] = bot
        return bot


def create_dispatcher(
    settings: Settings,
    database: Database,
    content: ContentStore,
    scheduler: AsyncIOScheduler | None = None,
    storage: BaseStorage | None = None,
    *,
    users: UserService,
    seen: SeenWriter | None = None,
    **extra: Any,
) -> Dispatcher:
    from bot import texts
    from handlers import get_routers

    texts.bind(content)  # keyboards read their labels from the live content
    scheduler = scheduler or AsyncIOScheduler(timezone="UTC")
    dp = Dispatcher(
        storage=storage or create_storage(settings),
        settings=settings,
        database=database,
        content=content,
        scheduler=scheduler,
        users=users,
        **extra,
    )
    # Order matters: throttle before any work, then the user and role (read, never written).
    # No session per update: services open their own short units of work.
    dp.update.outer_middleware(ThrottlingMiddleware(settings.throttle_rate, settings.throttle_burst))
    dp.update.outer_middleware(UserMiddleware(users, seen))
    for observer in (dp.message, dp.callback_query):
        observer.middleware(RoleGuard())
        observer.middleware(ConsentGate())
    dp.callback_query.outer_middleware(AutoAnswerMiddleware())
    dp.include_routers(*get_routers())
    run_sync_filters_inline(dp)
    return dp


def command_menu(content: Content) -> list[BotCommand]:
    """The command menu with the descriptions of the live content."""
    return [BotCommand(command=c, description=content.text(f"common.command_{c}")) for c in PUBLIC_COMMANDS]


def run_sync_filters_inline(dp: Dispatcher) -> int:
    """aiogram runs a filter that is a plain function through `asyncio.to_thread`, and every
    magic filter (`F.text`, `F.chat.type == ...`) is one: about seventy thread-pool hops per
    update, measured as the largest cost of an FAQ question under load. These filters only
    read the update, so they run inline instead. Returns how many were changed."""
    changed = 0
    for router in dp.chain_tail:
        for observer in router.observers.values():
            handlers = [*observer.handlers, getattr(observer, "_handler", None)]
            for handler in handlers:
                for event_filter in (handler.filters if handler is not None else None) or ():
                    if event_filter.awaitable:
                        continue
                    sync = event_filter.callback

                    async def inline(*args: Any, __sync: Any = sync, **kwargs: Any) -> Any:
                        return __sync(*args, **kwargs)

                    event_filter.callback = inline
                    event_filter.awaitable = True
                    changed += 1
    return changed


async def set_commands(bot: Bot, content: Content) -> None:
    await bot.set_my_commands(command_menu(content))


def create_app(settings: Settings, storage: BaseStorage | None = None) -> App:
    """Build and wire everything: content, database, sender, services, workers, scheduler,
    dispatcher. Content errors raise here; nothing runs until the dispatcher starts."""
    content = ContentStore(settings.content_dir, settings.default_municipality, content_sections())
    engine = create_engine(settings.database_url)
    database = Database(engine)
    sessionmaker = database.sessionmaker
    scheduler = AsyncIOScheduler(timezone="UTC")
    sender = create_sender(settings)
    seen = SeenWriter(database)
    activity_writer = ActivityWriter(database)  # logs leave the update and are written in batches
    outbox = OutboxService(database)
    faq = FaqService(database, outbox, settings, activity_writer)
    parts = feature_parts()
    owners = [p.data_owner for p in parts if p.data_owner is not None]
    services: dict[str, Any] = {
        "users": UserService(database, settings),
        "outbox": outbox,
        "faq": faq,
        "privacy": PrivacyService(database, owners, activity_writer),
        "subscriptions": SubscriptionService(database, settings),
        "events": EventService(database, settings),
        "broadcasts": BroadcastService(database, settings),
        "outreach_log": OutreachLogService(database, settings),
        "outreach_report": ReportService(database, settings, sources=collect_sources(parts)),
        "catalogue": CatalogueService(database, settings),
        "delivery": DeliveryService(database, settings, outbox),
    }
    dp = create_dispatcher(
        settings, database, content, scheduler=scheduler, storage=storage, seen=seen,
        **services,
    )  # fmt: skip
    app = App(settings, engine, sessionmaker, content, scheduler, dp, database, sender, services)
    app.parts = parts
    workers: list[BroadcastWorker] = []
    notice_workers = app.notice_workers

    async def on_startup(bot: Bot) -> None:
        app.channel_bots.setdefault(Channel.TELEGRAM, bot)  # MAX fetches Telegram files through it
        await set_commands(bot, content.current)
        if "faq" in content.current.sections:
            from bot.services.faq.engine import engine_for

            # Build the FAQ index (and train its classifier) before the first question, off the loop.
            await asyncio.to_thread(engine_for, content)
        await seen.start()
        if not activity_writer.running:
            await activity_writer.start()
        from bot.local_api import LocalBotSession

        if isinstance(bot.session, LocalBotSession) and settings.bot_token is not None:
            # A console next to a configured bot: the real bot delivers from this database.
            logger.info("local console with BOT_TOKEN set: the delivery workers are not started")
        else:
            workers.append(BroadcastWorker(bot, services["delivery"], settings))  # broadcasts, reminders
            await workers[-1].start()  # the primary: recovers rows left in flight before others claim
            for channel, other in app.channel_bots.items():
                if channel is Channel.TELEGRAM:
                    continue
                workers.append(BroadcastWorker(other, services["delivery"], settings, channel=channel))
                await workers[-1].start()
            # hand-offs, staff answers, digests: each row through its recipient's messenger
            notice_workers.append(NoticeWorker(bot, outbox, bots={**app.channel_bots, Channel.TELEGRAM: bot}))
            await notice_workers[-1].start()
        _schedule(scheduler, settings, outbox, faq, workers, notice_workers, events=services["events"])
        if not scheduler.running:
            scheduler.start()
        logger.info("mocbot started")

    async def on_shutdown() -> None:
        while app.stop_first:
            await app.stop_first.pop()()
        if scheduler.running:
            scheduler.shutdown(wait=False)
        while notice_workers:
            await notice_workers.pop().stop()
        while workers:
            await workers.pop().stop()
        await seen.stop()
        if activity_writer.running:
            await activity_writer.stop()  # writes every buffered row
        await dp.storage.close()
        await sender.limiter.close()
        if app.max_sender is not None:
            await app.max_sender.limiter.close()
        for channel, other in list(app.channel_bots.items()):
            if channel is not Channel.TELEGRAM:
                await other.session.close()
        await engine.dispose()
        logger.info("mocbot stopped")

    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
    return app


def _schedule(  # noqa: PLR0917
    scheduler: AsyncIOScheduler,
    settings: Settings,
    outbox: OutboxService,
    faq: FaqService,
    workers: list[Any],
    notice_workers: list[NoticeWorker],
    *,
    events: EventService | None = None,
) -> None:
    """The periodic work; the durable state (rows due, digests sent) stays in the database."""

    def tick() -> None:  # rows that became due (retries, scheduled broadcasts)
        for worker in (*workers, *notice_workers):
            worker.wake()

    async def clean_up() -> None:
        deleted = await outbox.clean_up()
        if deleted:
            logger.info("retention: %d finished notices deleted", deleted)
        if events is not None:  # names and phones given at sign-up, some days after the event
            erased = await events.erase_old_contacts()
            if erased:
                logger.info("retention: names and phones of %d event sign-ups erased", erased)

    async def digest() -> None:
        from handlers.faq import digest_text

        now = datetime.now(UTC)
        day = now.astimezone(settings.tz).date().isoformat()
        await faq.queue_digest(day, lambda items, total: digest_text(items, total, now))

    scheduler.add_job(tick, "interval", seconds=1, id="due-rows", replace_existing=True)
    scheduler.add_job(clean_up, "cron", hour=3, minute=30, timezone=settings.tz, id="retention",
                      replace_existing=True)  # fmt: skip
    scheduler.add_job(digest, "cron", day_of_week="mon-fri", hour=9, minute=0, timezone=settings.tz,
                      id="staff-digest", replace_existing=True)  # fmt: skip
